/**
 * Migration files on disk (docs/storage.md#running-migrations): `NNNN_name.sql` applies to every
 * flavour, `NNNN_name.<flavour>.sql` to one PostgreSQL flavour only, and `R__name[.<flavour>].sql` is a
 * repeatable step, re-applied whenever its rendered text changes (used for retention policies, so a
 * change of parameters takes effect without editing an applied file).
 */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { StorageError, messageOf } from '../errors.js';

export interface VersionedFile {
  readonly kind: 'versioned';
  readonly version: number;
  /** Zero-padded version as written in the file name; the key in schema_migrations. */
  readonly id: string;
  readonly name: string;
  readonly flavour: string | undefined;
  readonly template: string;
  /** sha256 of the file as written (before rendering), so parameters never change it. */
  readonly checksum: string;
}

export interface RepeatableFile {
  readonly kind: 'repeatable';
  /** `R__name`: the key in schema_migrations. */
  readonly id: string;
  readonly name: string;
  readonly flavour: string | undefined;
  readonly template: string;
}

export interface MigrationFiles {
  readonly dir: string;
  readonly versioned: readonly VersionedFile[];
  readonly repeatable: readonly RepeatableFile[];
}

const VERSIONED = /^(\d{4})_([a-z0-9_]+)(?:\.([a-z0-9_]+))?\.sql$/;
const REPEATABLE = /^(R__[a-z0-9_]+)(?:\.([a-z0-9_]+))?\.sql$/;

/** The `migrations/` directory shipped with the package (src/ and dist/ sit at the same depth). */
export function packagedMigrationsDir(target: 'pg' | 'clickhouse'): string {
  return fileURLToPath(new URL(`../../../migrations/${target}/`, import.meta.url));
}

export function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/**
 * Reads and checks a migration directory. `flavours` lists the suffixes allowed (none for
 * ClickHouse); any other `.sql` name is an error, so a misnamed file is not silently skipped.
 */
export async function loadMigrationFiles(dir: string, flavours: readonly string[]): Promise<MigrationFiles> {
  let names: string[];
  try {
    names = (await readdir(dir, { withFileTypes: true })).filter((e) => e.isFile() && e.name.endsWith('.sql')).map((e) => e.name);
  } catch (err) {
    throw new StorageError('TC_MIGRATION_FILES_INVALID', `cannot read migrations directory ${dir}: ${messageOf(err)}`, { cause: err });
  }
  const problems: string[] = [];
  const versioned: VersionedFile[] = [];
  const repeatable: RepeatableFile[] = [];
  for (const name of names.sort()) {
    const v = VERSIONED.exec(name);
    const r = v === null ? REPEATABLE.exec(name) : null;
    const flavour = v?.[3] ?? r?.[2];
    if ((v === null && r === null) || (flavour !== undefined && !flavours.includes(flavour))) {
      const allowed = flavours.length === 0 ? '' : ` (flavours: ${flavours.join(', ')})`;
      problems.push(`${name}: expected NNNN_name.sql, NNNN_name.<flavour>.sql or R__name.sql${allowed}`);
      continue;
    }
    const template = await readFile(path.join(dir, name), 'utf8');
    if (v !== null) {
      const id = v[1] ?? '';
      versioned.push({ kind: 'versioned', version: Number(id), id, name, flavour, template, checksum: sha256(template) });
    } else if (r !== null) {
      repeatable.push({ kind: 'repeatable', id: r[1] ?? '', name, flavour, template });
    }
  }
  problems.push(...findClashes(versioned, flavours), ...findClashes(repeatable, flavours));
  if (problems.length > 0) {
    throw new StorageError('TC_MIGRATION_FILES_INVALID', `invalid migrations in ${dir}:\n  ${problems.join('\n  ')}`);
  }
  versioned.sort((a, b) => a.version - b.version);
  return { dir, versioned, repeatable };
}

/** Two files may share an id only as distinct flavour variants, never next to a common file. */
function findClashes(files: readonly (VersionedFile | RepeatableFile)[], flavours: readonly string[]): string[] {
  const byId = new Map<string, (VersionedFile | RepeatableFile)[]>();
  for (const f of files) byId.set(f.id, [...(byId.get(f.id) ?? []), f]);
  const problems: string[] = [];
  for (const [id, group] of byId) {
    if (group.length < 2) continue;
    const common = group.some((f) => f.flavour === undefined);
    const perFlavour = flavours.some((fl) => group.filter((f) => f.flavour === fl).length > 1);
    if (common || perFlavour) problems.push(`${id}: conflicting files ${group.map((f) => f.name).join(', ')}`);
  }
  return problems;
}

/** The files that apply to one flavour (common files plus that flavour's variants), in order. */
export function filesForFlavour(files: MigrationFiles, flavour: string | undefined): {
  versioned: VersionedFile[];
  repeatable: RepeatableFile[];
} {
  const applies = (f: { flavour: string | undefined }) => f.flavour === undefined || f.flavour === flavour;
  return { versioned: files.versioned.filter(applies), repeatable: files.repeatable.filter(applies) };
}
