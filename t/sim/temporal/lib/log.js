'use strict';
// Logging to stderr, one line per event.  stdout is reserved for the single
// ready line {"grpc":<port>,"admin":<port>}.

const LEVELS = { debug: 10, info: 20, warn: 30, error: 40 };

class Logger {
  constructor(level = 'info', stream = process.stderr) {
    if (!(level in LEVELS)) throw new Error(`invalid log level ${level}`);
    this.threshold = LEVELS[level];
    this.stream = stream;
  }

  enabled(level) {
    return LEVELS[level] >= this.threshold;
  }

  write(level, msg) {
    if (LEVELS[level] < this.threshold) return;
    this.stream.write(`${new Date().toISOString()} temporal-sim ${level} ${msg}\n`);
  }

  debug(msg) { this.write('debug', msg); }

  info(msg) { this.write('info', msg); }

  warn(msg) { this.write('warn', msg); }

  error(msg) { this.write('error', msg); }
}

module.exports = { Logger, LEVELS };
