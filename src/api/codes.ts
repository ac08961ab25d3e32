/**
 * Names the wire shares with the server beyond the messages (the schema covers only those):
 * WebSocket close codes, and the key the follow room owns. The server defines the same in
 * `notebook_sync_ydoc/protocol/codes.py`.
 */

/**
 * Close codes. Both sockets, `/notebook-sync/ws` and the follow room
 * `/notebook-sync/room/<CODE>`, may be closed with the standard ones; only the follow room
 * uses 4410.
 */
export const CloseCode = {
  /** The server is shutting down: reconnect later. */
  shutdown: 1001,
  /** The client kept sending past its rate limit: reconnect, more slowly. */
  policy: 1008,
  /** The follow room could not be opened: reconnect. */
  internalError: 1011,
  /** The client read too slowly and its send queue filled: reconnect, then catch up. */
  slowClient: 1013,
  /** Follow room: the session ended. Do not reconnect. */
  sessionEnded: 4410
} as const;

/** The cell metadata key and awareness key owned by the follow room. */
export const ROOM_KEY = 'notebook_sync';
