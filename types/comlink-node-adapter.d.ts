// comlink 4.4.2 ships this adapter with types beside it but no exports map, so nodenext cannot
// resolve `comlink/dist/umd/node-adapter.js` to them.
declare module 'comlink/dist/umd/node-adapter.js' {
  import type { Endpoint } from 'comlink';
  import type { Transferable } from 'node:worker_threads';

  export interface NodeEndpoint {
    postMessage(message: unknown, transfer?: readonly Transferable[]): void;
    on(type: string, listener: (value: unknown) => void): unknown;
    off(type: string, listener: (value: unknown) => void): unknown;
    start?: () => void;
  }
  export default function nodeEndpoint(nep: NodeEndpoint): Endpoint;
}
