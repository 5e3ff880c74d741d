/**
 * Runs the project's ESLint config (eslint.config.mjs) in a plain Node process, for tests: Jest's
 * module sandbox cannot load an ES module config. Reads `{ root, jobs }` as JSON on stdin, where a
 * job is `{ filePath, code }` (lint `code` as if it were the file at `filePath`) or `{ lintFile }`
 * (lint that file even if the config ignores it), and writes, per job, the rule ids reported.
 */
import process from 'node:process';
import { ESLint } from 'eslint';

let input = '';
for await (const chunk of process.stdin) input += chunk;
const { root, jobs } = JSON.parse(input);

const eslint = new ESLint({ cwd: root });
const unignored = new ESLint({ cwd: root, ignore: false });
const reported = [];
for (const job of jobs) {
  const [result] =
    job.lintFile !== undefined
      ? await unignored.lintFiles([job.lintFile])
      : await eslint.lintText(job.code, { filePath: job.filePath });
  reported.push(result.messages.map((message) => message.ruleId ?? message.message));
}
process.stdout.write(JSON.stringify(reported));
