// The chat page: one WebSocket per join, speaking Portico's single-call protocol
// (DESIGN.md section 6) to the bidi method chat.v1.Chat/Join.
//   sent:     one JSON ChatMessage per text frame; {"room", "user"} first, then {"text"};
//             an empty frame half-closes (leave).
//   received: one JSON ChatEvent per text frame, in proto3 JSON: lowerCamelCase names, int64 as a
//             string (atUnixMs), enums by name, and default values left out.
//   close:    1000 = the call ended OK; 4000 + N = gRPC status N, the reason being its message.
'use strict';

(() => {
  const $ = (id) => document.getElementById(id);
  const els = {
    joinForm: $('join-form'), room: $('room'), user: $('user'), join: $('join'), leave: $('leave'),
    status: $('status'), messages: $('messages'),
    sendForm: $('send-form'), text: $('text'), send: $('send'),
  };

  const GRPC_CODES = ['OK', 'CANCELLED', 'UNKNOWN', 'INVALID_ARGUMENT', 'DEADLINE_EXCEEDED',
    'NOT_FOUND', 'ALREADY_EXISTS', 'PERMISSION_DENIED', 'RESOURCE_EXHAUSTED',
    'FAILED_PRECONDITION', 'ABORTED', 'OUT_OF_RANGE', 'UNIMPLEMENTED', 'INTERNAL', 'UNAVAILABLE',
    'DATA_LOSS', 'UNAUTHENTICATED'];
  const KINDS = ['KIND_UNSPECIFIED', 'JOINED', 'LEFT', 'MESSAGE'];

  let socket = null;   // the open (or opening) WebSocket, if any
  let me = null;       // {room, user} of the current join
  let joined = false;  // our own JOINED event has arrived

  function setStatus(state, text) {
    els.status.dataset.state = state;
    els.status.textContent = text;
  }

  function setConnected(connected) {
    els.room.disabled = connected;
    els.user.disabled = connected;
    els.join.disabled = connected;
    els.leave.disabled = !connected;
    els.text.disabled = !connected;
    els.send.disabled = !connected;
  }

  function timeOf(event) {
    const ms = Number(event.atUnixMs || 0);  // int64: a string in proto3 JSON
    const date = ms > 0 ? new Date(ms) : new Date();
    return date.toLocaleTimeString([], {hour: '2-digit', minute: '2-digit', second: '2-digit'});
  }

  function append(node) {
    const list = els.messages;
    const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
    list.appendChild(node);
    if (atBottom) list.scrollTop = list.scrollHeight;
  }

  function span(className, text) {
    const s = document.createElement('span');
    s.className = className;
    s.textContent = text;
    return s;
  }

  // A chat message: "<time> user: text" (the tests look for "user: text" in .msg elements).
  function showMessage(event) {
    const div = document.createElement('div');
    div.className = 'msg' + (me && event.user === me.user ? ' mine' : '');
    div.append(span('time', timeOf(event)), ' ', span('who', event.user || '?'), ': ',
               span('text', event.text || ''));
    append(div);
  }

  function showNotice(text, className = 'event') {
    const div = document.createElement('div');
    div.className = className;
    div.textContent = text;
    append(div);
  }

  function onEvent(data) {
    let event;
    try {
      event = JSON.parse(data);
    } catch (e) {
      showNotice('unreadable event: ' + data, 'event error');
      return;
    }
    // Enums arrive by name; a number is accepted too, and an absent kind is the default (0).
    const kind = typeof event.kind === 'number' ? KINDS[event.kind] : (event.kind || KINDS[0]);
    if (kind === 'JOINED') {
      showNotice(`* ${event.user || '?'} joined`);
      if (!joined && me && event.user === me.user) {
        joined = true;
        setStatus('joined', `Joined "${me.room}" as ${me.user}.`);
        els.text.focus();
      }
    } else if (kind === 'LEFT') {
      showNotice(`* ${event.user || '?'} left`);
    } else {
      showMessage(event);
    }
  }

  function describeClose(event, opened, url) {
    if (event.code === 1000) return {state: 'closed', text: 'Left the room.'};
    if (event.code >= 4000 && event.code < 4100) {
      const n = event.code - 4000;
      const name = GRPC_CODES[n] || `code ${n}`;
      return {state: 'error', text: `Error: ${name}${event.reason ? ': ' + event.reason : ''}`};
    }
    if (!opened) return {state: 'error', text: `Cannot open ${url} (WebSocket close ${event.code}).`};
    return {
      state: 'error',
      text: `Connection lost (WebSocket close ${event.code}${event.reason ? ': ' + event.reason : ''}).`,
    };
  }

  function join() {
    const room = els.room.value.trim();
    const user = els.user.value.trim();
    if (!room || !user) {
      setStatus('error', 'Enter a room and a name.');
      (room ? els.user : els.room).focus();
      return;
    }
    const url = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host +
                '/chat.v1.Chat/Join';
    let ws;
    try {
      ws = new WebSocket(url);
    } catch (e) {
      setStatus('error', `Cannot open ${url}: ${e.message}`);
      return;
    }
    socket = ws;
    me = {room, user};
    joined = false;
    setConnected(true);
    setStatus('connecting', `Connecting to ${url}…`);

    let opened = false;
    ws.onopen = () => {
      opened = true;
      if (socket !== ws) return;
      ws.send(JSON.stringify({room, user}));
      setStatus('joining', `Joining "${room}"…`);
    };
    ws.onmessage = (e) => {
      if (socket === ws && typeof e.data === 'string') onEvent(e.data);
    };
    ws.onerror = () => {
      // The close event that follows carries the details.
    };
    ws.onclose = (e) => {
      if (socket !== ws) return;
      socket = null;
      joined = false;
      setConnected(false);
      const {state, text} = describeClose(e, opened, url);
      setStatus(state, text);
      if (state === 'error') showNotice(text, 'event error');
    };
  }

  function leave() {
    if (!socket) return;
    if (socket.readyState === WebSocket.OPEN) {
      socket.send('');  // half-close: the server announces the leave and ends the call (1000)
      setStatus('leaving', 'Leaving…');
      els.leave.disabled = true;
      els.text.disabled = true;
      els.send.disabled = true;
    } else {
      socket.close(1000);
    }
  }

  function send() {
    const text = els.text.value;
    if (!text.trim() || !socket || socket.readyState !== WebSocket.OPEN) return;
    socket.send(JSON.stringify({text}));
    els.text.value = '';
    els.text.focus();
  }

  els.joinForm.addEventListener('submit', (e) => {
    e.preventDefault();
    if (!socket) join();
  });
  els.leave.addEventListener('click', leave);
  els.sendForm.addEventListener('submit', (e) => {
    e.preventDefault();
    send();
  });
  window.addEventListener('pagehide', () => {
    if (socket) socket.close(1000);
  });

  setConnected(false);
  els.user.focus();
})();
