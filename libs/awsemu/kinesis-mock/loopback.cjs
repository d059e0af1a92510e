// Preloaded by the awsemu harness (node --require) so kinesis-mock listens on
// loopback only: kinesis-mock 0.6.2 hard-codes the wildcard address 0.0.0.0
// and has no setting for the bind host. Every net.Server (the TLS one is a
// net.Server too) that would listen on all interfaces is moved to the host
// in AWSEMU_BIND_HOST (default 127.0.0.1).
'use strict';
const net = require('net');

const host = process.env.AWSEMU_BIND_HOST || '127.0.0.1';
const wildcard = new Set([undefined, null, '', '0.0.0.0', '::', '[::]']);
const listen = net.Server.prototype.listen;

net.Server.prototype.listen = function (...args) {
  const first = args[0];
  if (first !== null && typeof first === 'object' && !Array.isArray(first)) {
    // listen(options[, backlog][, callback])
    if (first.path === undefined && wildcard.has(first.host)) {
      args[0] = { ...first, host };
    }
  } else if (typeof first === 'number' || (typeof first === 'string' && /^\d+$/.test(first))) {
    // listen(port[, host][, backlog][, callback])
    if (typeof args[1] !== 'string' || wildcard.has(args[1])) {
      const rest = typeof args[1] === 'string' ? args.slice(2) : args.slice(1);
      args = [first, host, ...rest];
    }
  }
  return listen.apply(this, args);
};
