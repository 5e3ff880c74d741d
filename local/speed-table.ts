/**
 * The speed layer's table of a local state directory, for readers outside the pipeline
 * (`sluice aggregates --local`): the running session's dynalite when one runs, else a dynalite
 * started for the read on the data the stopped session left (`<state>/emulators/dynamodb`; LevelDB
 * allows one process, and no session holds it).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { UserError } from '../contract/user-error';
import { startDynalite } from './emulators/dynalite';
import { emulatorDataDirs } from './emulators/start';
import {
  createLocalClients,
  DEFAULT_LOCAL_REGION,
  destroyLocalClients,
  type LocalEndpoints,
} from './endpoints';

export interface SpeedTable {
  readonly dynamodb: DynamoDBClient;
  readonly tableName: string;
  close(): Promise<void>;
}

function clientFor(endpoints: LocalEndpoints): { dynamodb: DynamoDBClient; destroy: () => void } {
  const clients = createLocalClients(endpoints);
  return { dynamodb: clients.dynamodb, destroy: () => destroyLocalClients(clients) };
}

/** The table of a running session, through its endpoints. */
export function runningSpeedTable(endpoints: LocalEndpoints, tableName: string): SpeedTable {
  const { dynamodb, destroy } = clientFor(endpoints);
  return { dynamodb, tableName, close: async () => destroy() };
}

/** The table a stopped session left in `stateDir`, served by a dynalite of its own until `close`. */
export async function stoppedSpeedTable(stateDir: string, tableName: string): Promise<SpeedTable> {
  const dataDir = emulatorDataDirs(path.join(stateDir, 'emulators')).dynamodb;
  if (!fs.existsSync(dataDir)) {
    throw new UserError(
      `there is no local speed layer data at ${dataDir}; run \`npx sluice local\` first (or pass --state)`,
    );
  }
  const dynalite = await startDynalite({ dataDir });
  const url = dynalite.url;
  const { dynamodb, destroy } = clientFor({
    region: DEFAULT_LOCAL_REGION,
    kinesis: url,
    dynamodb: url,
    sns: url,
    sqs: url,
    s3: url,
  });
  return {
    dynamodb,
    tableName,
    close: async () => {
      destroy();
      await dynalite.stop();
    },
  };
}
