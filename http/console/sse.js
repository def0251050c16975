// Reads a text/event-stream body (from fetch, so that a POST body and metadata headers can be
// sent, which EventSource cannot) and calls onEvent({event, data}) for each event as it arrives.
// Resolves when the body ends; rejects when the read fails (an abort included).

export async function readEvents(body, onEvent) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  let event = 'message';
  let data = [];
  const dispatch = () => {
    if (data.length) onEvent({ event, data: data.join('\n') });
    event = 'message';
    data = [];
  };
  const line = (text) => {
    if (text === '') {
      dispatch();
      return;
    }
    if (text.startsWith(':')) return;  // comment (keep-alive)
    const colon = text.indexOf(':');
    const name = colon < 0 ? text : text.slice(0, colon);
    let value = colon < 0 ? '' : text.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (name === 'event') event = value || 'message';
    else if (name === 'data') data.push(value);
  };
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value;
    let at;
    while ((at = buffer.search(/\r\n|\r|\n/)) >= 0) {
      const end = buffer[at] === '\r' && buffer[at + 1] === '\n' ? at + 2 : at + 1;
      // A lone \r at the very end may be the first half of \r\n: wait for more.
      if (buffer[at] === '\r' && at === buffer.length - 1) break;
      line(buffer.slice(0, at));
      buffer = buffer.slice(end);
    }
  }
  if (buffer) line(buffer);
  dispatch();
}

// Reads an NDJSON body line by line: onLine(text) per non-empty line.
export async function readLines(body, onLine) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value;
    let at;
    while ((at = buffer.indexOf('\n')) >= 0) {
      const text = buffer.slice(0, at).trim();
      buffer = buffer.slice(at + 1);
      if (text) onLine(text);
    }
  }
  if (buffer.trim()) onLine(buffer.trim());
}
