import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { LakeCatalog, type LakeCatalogProps } from '../../lib/catalog';
import { LAKE_PREFIXES } from '../../contract/lake-layout';
import {
  CURATED_TABLES,
  EVENTS,
  LAKE_TABLES,
  type LakeTableSpec,
  QUARANTINE,
  RAW_EVENTS,
} from '../../contract/lake-tables';
import { batchFixtures, nagFindings } from './batch-fixtures';
import { logicalId } from './synth';

function catalog(props: Partial<LakeCatalogProps> = {}) {
  const fixtures = batchFixtures();
  const lakeCatalog = new LakeCatalog(fixtures.stack, 'Catalog', { bucket: fixtures.lake.bucket, ...props });
  return { ...fixtures, catalog: lakeCatalog, template: Template.fromStack(fixtures.stack) };
}

interface TableInput {
  Name: string;
  Parameters: Record<string, unknown>;
  PartitionKeys: { Name: string; Type: string }[];
  StorageDescriptor: {
    Location: unknown;
    InputFormat: string;
    OutputFormat: string;
    Compressed: boolean;
    Columns: { Name: string; Type: string }[];
    SerdeInfo: { SerializationLibrary: string; Parameters?: Record<string, string> };
  };
}

function tableInput(template: Template, name: string): TableInput {
  const tables = Object.values(template.findResources('AWS::Glue::Table')).map(
    (t) => t.Properties.TableInput as TableInput,
  );
  const table = tables.find((t) => t.Name === name);
  if (!table) throw new Error(`no Glue table ${name}`);
  return table;
}

describe('LakeCatalog', () => {
  const { template, lake } = catalog({ databaseName: 'sluice_test' });
  const bucketRef = { Ref: logicalId(lake.bucket) };

  test('creates the Glue database with the given name', () => {
    template.hasResourceProperties('AWS::Glue::Database', { DatabaseInput: { Name: 'sluice_test' } });
  });

  test('defines every lake table in that database', () => {
    const names = Object.values(template.findResources('AWS::Glue::Table')).map(
      (t) => t.Properties.TableInput.Name,
    );

    expect(names.sort()).toEqual([
      'events',
      'quarantine',
      'raw_events',
      'sensor_stats_daily',
      'sensor_stats_hourly',
      'sensor_stats_hourly_live',
      'speed_hourly',
    ]);
    template.allResourcesProperties('AWS::Glue::Table', {
      DatabaseName: { Ref: Match.stringLikeRegexp('^CatalogDatabase') },
    });
  });

  test('needs no crawler', () => {
    template.resourceCountIs('AWS::Glue::Crawler', 0);
  });

  test('uses the lake layout of contract/lake-layout.ts', () => {
    expect([RAW_EVENTS.prefix, QUARANTINE.prefix]).toEqual([LAKE_PREFIXES.raw, LAKE_PREFIXES.quarantine]);
    expect(CURATED_TABLES.map((t) => t.prefix)).toEqual(
      CURATED_TABLES.map((t) => `${LAKE_PREFIXES.curated}${t.name}/`),
    );
  });

  test.each(LAKE_TABLES.map((t) => [t.name, t] as const))(
    '%s lives under its lake prefix',
    (name, spec: LakeTableSpec) => {
      expect(tableInput(template, name).StorageDescriptor.Location).toEqual({
        'Fn::Join': ['', ['s3://', bucketRef, `/${spec.prefix}`]],
      });
    },
  );

  test.each(LAKE_TABLES.map((t) => [t.name, t] as const))(
    '%s has the columns and partition keys of contract/lake-tables.ts',
    (name, spec: LakeTableSpec) => {
      const input = tableInput(template, name);

      expect(input.StorageDescriptor.Columns.map((c) => [c.Name, c.Type])).toEqual(
        spec.columns.map((c) => [c.name, c.type]),
      );
      expect(input.PartitionKeys.map((c) => [c.Name, c.Type])).toEqual(
        spec.partitionKeys.map((c) => [c.name, c.type]),
      );
    },
  );

  test.each(LAKE_TABLES.map((t) => [t.name, t] as const))(
    '%s projects its dt partitions as dates from 2020-01-01 to now',
    (name, spec: LakeTableSpec) => {
      const parameters = tableInput(template, name).Parameters;
      const template_ = spec.partitionKeys.map((k) => `${k.name}=\${${k.name}}`).join('/');

      expect(parameters).toMatchObject({
        'projection.enabled': 'true',
        'projection.dt.type': 'date',
        'projection.dt.format': 'yyyy-MM-dd',
        'projection.dt.range': '2020-01-01,NOW',
        'storage.location.template': {
          'Fn::Join': ['', ['s3://', bucketRef, `/${spec.prefix}${template_}/`]],
        },
      });
    },
  );

  test('raw_events projects the arrival hour as 00 to 23', () => {
    const parameters = tableInput(template, RAW_EVENTS.name).Parameters;

    expect(parameters['projection.hour.type']).toBe('enum');
    expect(parameters['projection.hour.values']).toBe(
      Array.from({ length: 24 }, (_, h) => String(h).padStart(2, '0')).join(','),
    );
  });

  test('raw_events reads each gzip text line whole, as one string (regex SerDe, DOTALL)', () => {
    const storage = tableInput(template, RAW_EVENTS.name).StorageDescriptor;

    expect(storage).toMatchObject({
      InputFormat: 'org.apache.hadoop.mapred.TextInputFormat',
      OutputFormat: 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat',
      Compressed: true,
      SerdeInfo: {
        SerializationLibrary: 'org.apache.hadoop.hive.serde2.RegexSerDe',
        Parameters: { 'input.regex': '(?s)(.*)' },
      },
    });
  });

  test.each(['events', 'sensor_stats_hourly', 'sensor_stats_daily'])('%s is Snappy Parquet', (name) => {
    const input = tableInput(template, name);

    expect(input.StorageDescriptor).toMatchObject({
      InputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat',
      OutputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat',
      SerdeInfo: { SerializationLibrary: 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe' },
    });
    expect(input.Parameters['parquet.compression']).toBe('SNAPPY');
  });

  test('quarantine reads NDJSON, mapping the camelCase keys to snake_case columns', () => {
    const storage = tableInput(template, QUARANTINE.name).StorageDescriptor;

    expect(storage.SerdeInfo).toEqual({
      SerializationLibrary: 'org.openx.data.jsonserde.JsonSerDe',
      Parameters: {
        'ignore.malformed.json': 'true',
        'case.insensitive': 'false',
        'mapping.data_encoding': 'dataEncoding',
        'mapping.sensor_id': 'sensorId',
        'mapping.shard_id': 'shardId',
        'mapping.sub_record_index': 'subRecordIndex',
        'mapping.sequence_number': 'sequenceNumber',
        'mapping.partition_key': 'partitionKey',
        'mapping.arrival_time': 'arrivalTime',
      },
    });
  });

  test('does not tell Athena to expect client-side encryption (the lake is SSE-KMS)', () => {
    expect(LAKE_TABLES.map((t) => tableInput(template, t.name).Parameters.has_encrypted_data)).toEqual(
      LAKE_TABLES.map(() => false),
    );
  });

  test('grantReadWrite lets a principal read the database and write a table and its objects', () => {
    const fixtures = batchFixtures();
    const lakeCatalog = new LakeCatalog(fixtures.stack, 'Catalog', { bucket: fixtures.lake.bucket });
    const role = new iam.Role(fixtures.stack, 'Writer', {
      assumedBy: new iam.ServicePrincipal('states.amazonaws.com'),
    });

    lakeCatalog.grantReadWrite(role, [EVENTS.name]);

    const statements = Template.fromStack(fixtures.stack).findResources('AWS::IAM::Policy');
    const actions = Object.values(statements).flatMap((p) =>
      (p.Properties.PolicyDocument.Statement as { Action: string | string[] }[]).flatMap((s) => s.Action),
    );
    expect(actions).toEqual(
      expect.arrayContaining([
        'glue:GetDatabase',
        'glue:GetTable',
        'glue:BatchCreatePartition',
        's3:PutObject',
        'kms:Decrypt',
      ]),
    );
  });

  test('fails at synth for a database name Athena cannot use', () => {
    expect(() => catalog({ databaseName: 'Sluice-Dev' })).toThrow(
      /databaseName must be 1–255 of lowercase letters, digits and _ \(given Sluice-Dev\)/,
    );
  });

  test('leaves no unacknowledged cdk-nag finding', () => {
    const fixtures = catalog();

    expect(nagFindings(fixtures.app, fixtures.catalog)).toEqual([]);
  });
});
