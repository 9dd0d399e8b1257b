import { defineErrorCodes } from '../../../index.js';

/** The user-facing codes of the `prometheus_scrape` source (docs/errors.md is generated from them). */
export const PROM_SCRAPE_ERRORS = defineErrorCodes({
  TC_PROM_SCRAPE_FAILED: {
    title: "A Prometheus scrape failed (connection refused, timeout, TLS, or an HTTP status other than 200); the target's `up` series is 0.",
    hint: "Open the URL from the agent's host (`curl -v <url>`); check the port, the path, credentials and `timeout`. Failures are logged at most a few times a minute per target.",
  },
  TC_PROM_BODY_TOO_LARGE: {
    title: 'A scrape target answered with a body larger than `max_body_bytes`; the scrape failed without reading the rest.',
    hint: "Raise `max_body_bytes` if the target really exposes that much, or reduce what it exposes (the limit protects the agent's memory).",
  },
  TC_PROM_NOT_EXPOSITION: {
    title:
      'A scrape target answered with something that is not Prometheus or OpenMetrics exposition text (an HTML page, JSON, or a body without a single valid sample).',
    hint: 'The URL most likely points at the wrong path or at a login page: the metrics are usually under `/metrics`. `fallback_format = "fail"` also rejects bodies without a metrics `Content-Type`.',
  },
  TC_PROM_MALFORMED_LINE: {
    title: 'Some lines of a scrape are not valid exposition text; those lines were skipped and the rest of the scrape was kept.',
    hint: 'The log names the line numbers and what is wrong. Fix the exporter; `thermocline_prometheus_scrape_malformed_lines_total` counts the skipped lines.',
  },
  TC_PROM_FILE_SD: {
    title: 'A `file_sd` target file cannot be read or is not in the Prometheus file-SD format; the targets it gave before are kept.',
    hint: 'The file must hold a list of `{ "targets": ["host:port", ...], "labels": { ... } }` groups, as JSON or YAML. Fix it: the file is re-read as soon as it changes.',
  },
  TC_PROM_CREDENTIALS: {
    title: 'A TLS or credentials file of a `prometheus_scrape` source cannot be read or used.',
    hint: 'Check the paths and permissions of `tls.ca_file`, `tls.cert_file`, `tls.key_file`, `bearer_token_file` and `basic_auth.password_file`, and that the PEM files are valid.',
  },
});
