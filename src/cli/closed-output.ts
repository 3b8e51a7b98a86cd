// `vps-provision hosts | head -1`: the reader closing the pipe is its choice, not the
// command's failure. Node reports it as an 'error' event on stdout (EPIPE), which would
// otherwise crash the process with a stack trace, possibly halfway through a run on hosts.
// Output to a closed stream is dropped instead, and the command finishes as it would have:
// its exit code still says how the work went (a provision keeps going; reports are files).

const CLOSED = new Set(['EPIPE', 'ERR_STREAM_DESTROYED']);

export function dropOutputToClosedStreams(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (!CLOSED.has(err.code ?? '')) throw err;
    });
  }
}
