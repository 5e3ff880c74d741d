import * as iam from 'aws-cdk-lib/aws-iam';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { WINDOW_INDEX } from '../contract/table-keys';

/**
 * Lets `grantee` read the aggregates table as `AggregateReader` does, and nothing else: Query and
 * BatchGetItem on the table, Query on the window index (named: no `index/*` wildcard), and
 * decrypting with the table's key when it has a customer-managed one.
 */
export function grantAggregateReads(table: dynamodb.ITable, grantee: iam.IGrantable): void {
  iam.Grant.addToPrincipal({
    grantee,
    actions: ['dynamodb:Query', 'dynamodb:BatchGetItem'],
    resourceArns: [table.tableArn],
  });
  iam.Grant.addToPrincipal({
    grantee,
    actions: ['dynamodb:Query'],
    resourceArns: [`${table.tableArn}/index/${WINDOW_INDEX.indexName}`],
  });
  table.encryptionKey?.grantDecrypt(grantee);
}
