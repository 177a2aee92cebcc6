// A process's figures from /proc: resident memory, threads, open file descriptors.
import fs from 'node:fs';

/** {rssKb, threads, fds} of the process `pid`. */
export function procStats(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name) => Number((status.match(new RegExp(`^${name}:\\s+(\\d+)`, 'm')) ?? [])[1]);
  return { rssKb: field('VmRSS'), threads: field('Threads'), fds: fs.readdirSync(`/proc/${pid}/fd`).length };
}
