// Child processes for the benchmark: each server runs in its own process, stdout and stderr to a
// log file (never piped back, so draining them costs the load generator nothing).
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

const live = new Set();
process.on('exit', () => {
  for (const child of live) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
});

function tail(file, bytes = 2000) {
  if (!existsSync(file)) return '';
  const text = readFileSync(file, 'utf8');
  return text.slice(-bytes);
}

/** A free loopback port (for programs that cannot bind port 0 and report it). */
export async function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function portOpen(port) {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    const done = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
    socket.setTimeout(500, () => done(false));
  });
}

/**
 * Starts `node ...args` with stdout+stderr to `logFile` and waits until it is ready: either a line in
 * its output matches `readyPattern` (group 1 is the URL), or `port` accepts TCP connections.
 * Resolves to { name, child, pid, url, logFile, stop() }.
 */
export async function startNode({ name, args, env = {}, logFile, readyPattern, port, timeoutMs = 30_000, cwd }) {
  const fd = openSync(logFile, 'w');
  const child = spawn(process.execPath, args, {
    cwd,
    env: { ...process.env, ...env },
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  live.add(child);
  let exited = null;
  child.once('exit', (code, signal) => {
    exited = { code, signal };
    live.delete(child);
  });

  const deadline = Date.now() + timeoutMs;
  let url;
  while (!url) {
    if (exited) throw new Error(`${name} exited before it was ready (${JSON.stringify(exited)}):\n${tail(logFile)}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${name} was not ready within ${timeoutMs} ms:\n${tail(logFile)}`);
    }
    if (readyPattern) {
      const match = readyPattern.exec(tail(logFile, 64_000));
      if (match) url = match[1];
    } else if (await portOpen(port)) {
      url = `http://127.0.0.1:${port}`;
    }
    if (!url) await sleep(50);
  }

  const stop = async (signal = 'SIGTERM', graceMs = 5000) => {
    if (exited) return exited;
    const gone = new Promise((resolve) => child.once('exit', (code, sig) => resolve({ code, signal: sig })));
    child.kill(signal);
    const result = await Promise.race([gone, sleep(graceMs).then(() => null)]);
    if (result) return result;
    child.kill('SIGKILL');
    return gone;
  };
  return { name, child, pid: child.pid, url, logFile, stop, exited: () => exited };
}

/** Memory (kB) and CPU time (ms) of a live process from /proc; null where /proc is unavailable. */
export function procStats(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field) => {
      const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
      return match ? Number(match[1]) : null;
    };
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15 of /proc/PID/stat, in clock ticks (USER_HZ, 100 on Linux).
    const userMs = (Number(fields[11]) * 1000) / 100;
    const sysMs = (Number(fields[12]) * 1000) / 100;
    return { rssKb: kb('VmRSS'), hwmKb: kb('VmHWM'), cpuMs: userMs + sysMs, userMs, sysMs };
  } catch {
    return null;
  }
}

/** Samples VmRSS of the given processes every `everyMs`; `stop()` returns the peak per name. */
export function sampleRss(processes, everyMs = 250) {
  const peak = Object.fromEntries(processes.map((p) => [p.name, 0]));
  const timer = setInterval(() => {
    for (const p of processes) {
      const stats = procStats(p.pid);
      if (stats?.rssKb && stats.rssKb > peak[p.name]) peak[p.name] = stats.rssKb;
    }
  }, everyMs);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      return peak;
    },
  };
}

/** Busy CPU time of the whole machine (all cores, ms) from /proc/stat; steal reported apart. */
function machineCpu() {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0].trim().split(/\s+/).slice(1).map(Number);
    const [user, nice, system, , , irq, softirq, steal] = fields;
    return { busyMs: (user + nice + system + irq + softirq) * 10, stealMs: (steal ?? 0) * 10 };
  } catch {
    return null;
  }
}

/**
 * Watches how much CPU the rest of the machine used while a phase ran: machine busy time minus what
 * this process and the given children used. On a shared 2-core box this is what makes a run noisy.
 * `stop()` returns { wallMs, foreignCores, stealCores } (cores busy on average).
 */
export function backgroundLoad(processes) {
  const ours = () => {
    const self = process.cpuUsage();
    let total = (self.user + self.system) / 1000;
    for (const p of processes) total += procStats(p.pid)?.cpuMs ?? 0;
    return total;
  };
  const start = { at: Date.now(), machine: machineCpu(), ours: ours() };
  return {
    stop() {
      const wallMs = Date.now() - start.at;
      const machine = machineCpu();
      if (!machine || !start.machine || wallMs <= 0) return { wallMs, foreignCores: null, stealCores: null };
      const foreign = machine.busyMs - start.machine.busyMs - (ours() - start.ours);
      return {
        wallMs,
        foreignCores: Math.round((Math.max(0, foreign) / wallMs) * 100) / 100,
        stealCores: Math.round(((machine.stealMs - start.machine.stealMs) / wallMs) * 100) / 100,
      };
    },
  };
}
