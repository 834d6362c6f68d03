// Listening for the test servers: 127.0.0.1 only, a free port unless one is asked for, and a
// close() that does not wait for keep-alive connections (browsers keep them open for minutes).

/**
 * Starts `server` listening on 127.0.0.1:`port` (0: any free port) and tracks its connections.
 * Resolves to { port, origin, close() }; close() stops listening, destroys every open connection
 * and resolves once the server is closed; calling it again returns the same promise.
 */
export async function listenOnLoopback(server, port = 0) {
  const sockets = new Set();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => { server.off('error', reject); resolve(); });
  });
  const actual = server.address().port;
  let closed;
  return {
    port: actual,
    origin: `http://127.0.0.1:${actual}`,
    close() {
      closed ??= new Promise((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      });
      return closed;
    },
  };
}
