import { Fn, Stack, Token } from 'aws-cdk-lib';
import * as glue from 'aws-cdk-lib/aws-glue';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import {
  type LakeColumn,
  type LakeColumnType,
  type LakeTableSpec,
  type LakeViewSpec,
  type ViewColumnType,
  LAKE_TABLES,
  LAKE_VIEWS,
} from '../contract/lake-tables';
import { readSql } from '../contract/sql-template';
import { PARTITION_PROJECTION_START } from '../contract/lake-layout';
import { SluicePropsError } from './validation';

const GLUE_TYPES: Record<LakeColumnType, glue.Type> = {
  string: glue.Schema.STRING,
  double: glue.Schema.DOUBLE,
  bigint: glue.Schema.BIG_INT,
  timestamp: glue.Schema.TIMESTAMP,
  'map<string,string>': glue.Schema.map(glue.Schema.STRING, glue.Schema.STRING),
};

/** Firehose text: one raw record per line, the whole line as one string (DOTALL: U+2028 is data, not a break). */
const RAW_LINES_FORMAT = new glue.DataFormat({
  inputFormat: glue.InputFormat.TEXT,
  outputFormat: glue.OutputFormat.HIVE_IGNORE_KEY_TEXT,
  serializationLibrary: glue.SerializationLibrary.REGEXP,
});

const NDJSON_FORMAT = new glue.DataFormat({
  inputFormat: glue.InputFormat.TEXT,
  outputFormat: glue.OutputFormat.HIVE_IGNORE_KEY_TEXT,
  serializationLibrary: glue.SerializationLibrary.OPENX_JSON,
  classificationString: glue.ClassificationString.JSON,
});

/** The Hive type Glue records for a view column of each Athena type. */
const VIEW_COLUMN_HIVE_TYPES: Record<ViewColumnType, string> = {
  varchar: 'string',
  bigint: 'bigint',
  double: 'double',
  'timestamp(3)': 'timestamp',
};

const GLUE_READ = [
  'glue:GetDatabase',
  'glue:GetTable',
  'glue:GetPartition',
  'glue:GetPartitions',
  'glue:BatchGetPartition',
];
const GLUE_WRITE = ['glue:BatchCreatePartition', 'glue:CreatePartition', 'glue:UpdatePartition'];
const HOURS = Array.from({ length: 24 }, (_, h) => String(h).padStart(2, '0'));
const DATABASE_NAME = /^[a-z0-9_]{1,255}$/;
const DAY = /^\d{4}-\d{2}-\d{2}$/;

/** What a job that reads and writes lake tables needs from the catalog. */
export interface ILakeCatalog {
  readonly database: glue.IDatabase;
  /** Lets `grantee` read the named tables' metadata (database included, as Athena needs) and objects. */
  grantRead(grantee: iam.IGrantable, tableNames: readonly string[]): void;
  /** Like `grantRead`, plus writing objects and partition metadata, as `INSERT INTO` needs. */
  grantReadWrite(grantee: iam.IGrantable, tableNames: readonly string[]): void;
}

export interface LakeCatalogProps {
  /** The data lake bucket holding every table's objects (see `contract/lake-tables.ts` for prefixes). */
  readonly bucket: s3.IBucket;
  /**
   * Glue database name: 1–255 of lowercase letters, digits and `_` (Athena's rule).
   * @default 'sluice'
   */
  readonly databaseName?: string;
  /**
   * First `dt` value partition projection enumerates (YYYY-MM-DD); the last is today.
   * @default '2020-01-01'
   */
  readonly projectionStartDay?: string;
}

/**
 * The Glue catalog of the lake: a database and one table per entry of `LAKE_TABLES` — `raw_events`
 * (gzip text lines), `events`, `sensor_stats_hourly`, `sensor_stats_daily` (Parquet) and
 * `quarantine` (NDJSON) — each with partition projection, so no crawler or `MSCK REPAIR` is needed.
 */
export class LakeCatalog extends Construct implements ILakeCatalog {
  public readonly database: glue.Database;
  public readonly tables: ReadonlyMap<string, glue.S3Table>;
  /** The Athena views of `LAKE_VIEWS`, by name. */
  public readonly views: ReadonlyMap<string, glue.CfnTable>;

  constructor(scope: Construct, id: string, props: LakeCatalogProps) {
    super(scope, id);
    const databaseName = props.databaseName ?? 'sluice';
    const start = props.projectionStartDay ?? PARTITION_PROJECTION_START;
    if (!Token.isUnresolved(databaseName) && !DATABASE_NAME.test(databaseName)) {
      throw new SluicePropsError(
        this,
        'databaseName',
        databaseName,
        'must be 1–255 of lowercase letters, digits and _',
      );
    }
    if (!DAY.test(start) || Number.isNaN(Date.parse(`${start}T00:00:00Z`))) {
      throw new SluicePropsError(this, 'projectionStartDay', start, 'must be a date YYYY-MM-DD');
    }

    this.database = new glue.Database(this, 'Database', {
      databaseName,
      description: 'Sluice data lake: raw landing, curated batch tables and quarantine',
    });
    const tables = new Map<string, glue.S3Table>();
    for (const spec of LAKE_TABLES) tables.set(spec.name, this.addTable(spec, props.bucket, start));
    this.tables = tables;
    this.views = new Map(LAKE_VIEWS.map((spec) => [spec.name, this.addView(spec, databaseName)]));
  }

  /** The table built from `spec`; throws for a name that is not in `LAKE_TABLES`. */
  table(name: string): glue.S3Table {
    const table = this.tables.get(name);
    if (!table)
      throw new Error(`No lake table named ${name}; tables are ${[...this.tables.keys()].join(', ')}`);
    return table;
  }

  grantRead(grantee: iam.IGrantable, tableNames: readonly string[]): void {
    for (const name of tableNames) this.grantTable(grantee, this.table(name), false);
  }

  grantReadWrite(grantee: iam.IGrantable, tableNames: readonly string[]): void {
    for (const name of tableNames) this.grantTable(grantee, this.table(name), true);
  }

  private grantTable(grantee: iam.IGrantable, table: glue.S3Table, write: boolean): void {
    if (write) table.grantReadWrite(grantee);
    else table.grantRead(grantee);
    // Glue authorizes table and partition actions against the catalog and the database as well as
    // the table; S3Table's grants name the table only.
    table.grantToUnderlyingResources(grantee, write ? [...GLUE_READ, ...GLUE_WRITE] : GLUE_READ);
  }

  private addView(spec: LakeViewSpec, databaseName: string): glue.CfnTable {
    const view = new glue.CfnTable(this, tableId(spec.name), {
      catalogId: Stack.of(this).account,
      databaseName: this.database.databaseName,
      tableInput: {
        name: spec.name,
        description: spec.description,
        tableType: 'VIRTUAL_VIEW',
        parameters: { presto_view: 'true', comment: 'Presto View' },
        viewOriginalText: prestoViewText(spec, databaseName),
        viewExpandedText: '/* Presto View */',
        storageDescriptor: {
          columns: spec.columns.map((c) => ({ name: c.name, type: VIEW_COLUMN_HIVE_TYPES[c.type] })),
          serdeInfo: {},
        },
      },
    });
    for (const table of this.tables.values()) view.node.addDependency(table);
    return view;
  }

  private addTable(spec: LakeTableSpec, bucket: s3.IBucket, start: string): glue.S3Table {
    const location = `s3://${bucket.bucketName}/${spec.prefix}`;
    const projection: Record<string, glue.PartitionProjectionConfiguration> = {
      dt: glue.PartitionProjectionConfiguration.date({ min: start, max: 'NOW', format: 'yyyy-MM-dd' }),
    };
    if (spec.partitionKeys.some((k) => k.name === 'hour')) {
      projection.hour = glue.PartitionProjectionConfiguration.enum({ values: HOURS });
    }
    const template = spec.partitionKeys.map((k) => `${k.name}=\${${k.name}}`).join('/');
    const parameters: Record<string, string> = { 'storage.location.template': `${location}${template}/` };
    if (spec.format === 'parquet') parameters['parquet.compression'] = 'SNAPPY';

    const table = new glue.S3Table(this, tableId(spec.name), {
      database: this.database,
      tableName: spec.name,
      description: spec.description,
      storage: glue.S3TableStorage.fromBucket(bucket),
      s3Prefix: spec.prefix,
      columns: spec.columns.map(column),
      partitionKeys: spec.partitionKeys.map(column),
      dataFormat:
        spec.format === 'parquet'
          ? glue.DataFormat.PARQUET
          : spec.format === 'raw-lines'
            ? RAW_LINES_FORMAT
            : NDJSON_FORMAT,
      compressed: spec.format === 'raw-lines',
      partitionProjection: projection,
      parameters,
      // The lake is SSE-KMS: S3 decrypts transparently. `true` would tell Athena to expect CSE-KMS.
      hasEncryptedData: false,
    });
    const serdeParameters = serdeParametersOf(spec);
    if (serdeParameters) {
      (table.node.defaultChild as glue.CfnTable).addPropertyOverride(
        'TableInput.StorageDescriptor.SerdeInfo.Parameters',
        serdeParameters,
      );
    }
    return table;
  }
}

/**
 * The text Athena stores for a view it created (`CREATE VIEW`), so the view is declared here like
 * the tables instead of created by a query: `/* Presto View: <base64 of the JSON> *\/`, holding the
 * SQL of `sql/<file>` (whole-line comments left out) and the column types Athena derives from it.
 */
export function prestoViewText(spec: LakeViewSpec, databaseName: string): string {
  const originalSql = readSql(spec.sqlFile)
    .split('\n')
    .filter((line) => !line.trimStart().startsWith('--'))
    .join('\n')
    .trim();
  const view = JSON.stringify({
    originalSql,
    catalog: 'awsdatacatalog',
    schema: databaseName,
    columns: spec.columns.map((c) => ({ name: c.name, type: c.type })),
  });
  if (Token.isUnresolved(databaseName)) return Fn.join('', ['/* Presto View: ', Fn.base64(view), ' */']);
  return `/* Presto View: ${Buffer.from(view, 'utf8').toString('base64')} */`;
}

function column(c: LakeColumn): glue.Column {
  return { name: c.name, type: GLUE_TYPES[c.type], comment: c.comment };
}

/** `raw_events` -> `RawEvents`: stable construct ids derived from the table names. */
function tableId(name: string): string {
  return name.replace(/(^|_)([a-z])/g, (_, __, letter: string) => letter.toUpperCase());
}

function serdeParametersOf(spec: LakeTableSpec): Record<string, string> | undefined {
  switch (spec.format) {
    case 'raw-lines':
      return { 'input.regex': '(?s)(.*)' };
    case 'ndjson': {
      const mappings = spec.columns
        .filter((c) => c.jsonKey)
        .map((c) => [`mapping.${c.name}`, c.jsonKey as string]);
      return {
        'ignore.malformed.json': 'true',
        'case.insensitive': 'false',
        ...Object.fromEntries(mappings),
      };
    }
    case 'parquet':
      return undefined;
  }
}
