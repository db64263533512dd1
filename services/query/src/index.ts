/** The query service: history HTTP API (`tapfleet query-server`), its CLI (`tapfleet query ...`) and web page. */
export { queryCommands as commands } from './commands.js';
export { QueryService } from './query-service.js';
export { QueryStore, type SqlRows } from './query-store.js';
export { clickHouseRows, HistoryStoreError } from './clickhouse-rows.js';
export { QueryClient, QueryCallError } from './query-client.js';
export { waterfallText, durationText } from './text-format.js';
export * as querySql from './query-sql.js';
