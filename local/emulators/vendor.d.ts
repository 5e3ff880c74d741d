// Types for the two emulators that ship without declarations; only what local/emulators uses.

declare module 'kinesalite' {
  import type { Server } from 'node:http';

  interface KinesaliteOptions {
    /** Milliseconds a stream stays CREATING. @default 500 */
    createStreamMs?: number;
    /** Milliseconds a stream stays DELETING. @default 500 */
    deleteStreamMs?: number;
    /** Milliseconds a stream stays UPDATING. @default 500 */
    updateStreamMs?: number;
    /** Maximum shards across all streams. @default 10 */
    shardLimit?: number;
    /** LevelDB directory; in memory when absent. */
    path?: string;
  }

  function kinesalite(options?: KinesaliteOptions): Server;
  export = kinesalite;
}

declare module 'dynalite' {
  import type { Server } from 'node:http';

  interface DynaliteOptions {
    /** Milliseconds a table stays CREATING. @default 500 */
    createTableMs?: number;
    /** Milliseconds a table stays DELETING. @default 500 */
    deleteTableMs?: number;
    /** Milliseconds a table stays UPDATING. @default 500 */
    updateTableMs?: number;
    /** LevelDB directory; in memory when absent. */
    path?: string;
  }

  function dynalite(options?: DynaliteOptions): Server;
  export = dynalite;
}
