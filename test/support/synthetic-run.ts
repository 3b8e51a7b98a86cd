// Realistic, deterministic run data for the merge benchmark and the
// report tests: the default phases of SPEC §4 with steps, droplet and laptop
// timing, and resource samples shaped like a real provisioning (apt/dpkg bursts,
// downloads, disk filling up). writeRunFolder lays it out as `report fetch` does.
import { CSV_STRINGIFY_GUARD } from '../../src/shell/csv-field.js';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'csv-stringify/sync';
import {
  DEFAULT_THRESHOLDS,
  RESOURCE_COLUMNS,
  TIMING_COLUMNS,
  type Alert,
  type AlertThresholds,
  type HostStatus,
  type PhaseStatus,
  type ResourceSample,
  type RunJsonInput,
  type StepStatus,
  type TimingRow,
} from '../../src/report/formats.js';
import type { HostRunInput, RunInputs } from '../../src/report/merge-hosts.js';
import { seededRandom } from './seeded-random.js';

export interface SyntheticPhase {
  name: string;
  estimateS: number;
  critical: boolean;
  steps: string[];
  /** rough load profile while it runs */
  cpu: number;
  netKbps: number;
  diskMb: number;
}

/** The default workstation phases (SPEC §4) with plausible steps. */
export const DEFAULT_PHASES: SyntheticPhase[] = [
  {
    name: 'system-prep',
    estimateS: 120,
    critical: true,
    steps: ['Tune apt', 'Update package lists', 'Upgrade packages', 'Install core packages', 'Unattended upgrades'],
    cpu: 70,
    netKbps: 6000,
    diskMb: 600,
  },
  {
    name: 'dev-tools',
    estimateS: 60,
    critical: false,
    steps: ['Install tools', 'Global git config'],
    cpu: 55,
    netKbps: 3000,
    diskMb: 150,
  },
  {
    name: 'desktop',
    estimateS: 270,
    critical: true,
    steps: ['Install XFCE', 'Install dbus-x11', 'XFCE defaults for remote use'],
    cpu: 92,
    netKbps: 9000,
    diskMb: 1800,
  },
  {
    name: 'user',
    estimateS: 30,
    critical: true,
    steps: ['Developer account', 'Sudo drop-in', 'Authorized key', 'RDP password', 'xsession'],
    cpu: 10,
    netKbps: 5,
    diskMb: 1,
  },
  {
    name: 'rdp',
    estimateS: 60,
    critical: true,
    steps: ['Install xrdp', 'TLS certificate', 'Harden xrdp.ini', 'Harden sesman.ini', 'Start xrdp'],
    cpu: 45,
    netKbps: 2000,
    diskMb: 60,
  },
  {
    name: 'ide-vscode',
    estimateS: 90,
    critical: false,
    steps: ['Microsoft key', 'Microsoft repo', 'Install code'],
    cpu: 60,
    netKbps: 12000,
    diskMb: 400,
  },
  {
    name: 'ide-cursor',
    estimateS: 90,
    critical: false,
    steps: ['Download Cursor', 'Install cursor'],
    cpu: 55,
    netKbps: 14000,
    diskMb: 500,
  },
  {
    name: 'ide-antigravity',
    estimateS: 90,
    critical: false,
    steps: ['Google key', 'Google repo', 'Install antigravity'],
    cpu: 58,
    netKbps: 11000,
    diskMb: 450,
  },
  {
    name: 'terminal',
    estimateS: 30,
    critical: false,
    steps: ['Bash completion', 'Git aliases', 'Prompt with git branch'],
    cpu: 8,
    netKbps: 50,
    diskMb: 2,
  },
  {
    name: 'firewall',
    estimateS: 60,
    critical: false,
    steps: ['Install ufw', 'Deny incoming', 'Allow SSH', 'Allow RDP', 'Enable ufw'],
    cpu: 20,
    netKbps: 300,
    diskMb: 5,
  },
  {
    name: 'fail2ban',
    estimateS: 30,
    critical: false,
    steps: ['Install fail2ban', 'sshd jail', 'xrdp jail', 'Start fail2ban'],
    cpu: 25,
    netKbps: 400,
    diskMb: 8,
  },
  {
    name: 'ssh-hardening',
    estimateS: 30,
    critical: false,
    steps: ['Keys only', 'Strong ciphers', 'Validate with sshd -t', 'Reload sshd'],
    cpu: 6,
    netKbps: 5,
    diskMb: 0,
  },
  {
    name: 'verify',
    estimateS: 60,
    critical: false,
    steps: ['Services active', 'Ports listening', 'IDE binaries', 'RDP handshake'],
    cpu: 12,
    netKbps: 20,
    diskMb: 0,
  },
];

export interface SyntheticOptions {
  runId?: string;
  hosts?: number;
  /** run start, epoch ms */
  startMs?: number;
  intervalS?: number;
  /** stretch phase durations so the run lasts about this long (default: near the estimates) */
  targetDurationS?: number;
  phases?: SyntheticPhase[];
  seed?: number;
  /** hosts (by index) that fail in the given phase */
  failures?: Record<number, string>;
  /** hosts (by index) whose memory runs low during desktop */
  lowMemory?: number[];
  thresholds?: AlertThresholds;
}

const r3 = (v: number) => Math.round(v * 1000) / 1000;
const r1 = (v: number) => Math.round(v * 10) / 10;
const isoMs = (ms: number) => new Date(Math.round(ms)).toISOString();

/** A whole synthetic run, in memory. */
export function syntheticRun(o: SyntheticOptions = {}): RunInputs {
  const runId = o.runId ?? '20261128T022100Z-a1b2';
  const n = o.hosts ?? 3;
  const start = o.startMs ?? Date.parse('2026-11-28T02:21:00.000Z');
  const interval = o.intervalS ?? 10;
  const phases = o.phases ?? DEFAULT_PHASES;
  const thresholds = o.thresholds ?? DEFAULT_THRESHOLDS;
  const estimateTotal = phases.reduce((s, p) => s + p.estimateS, 0);
  const stretch = o.targetDurationS ? o.targetDurationS / estimateTotal : 1;
  const rand = seededRandom(o.seed ?? 42);
  const hosts: HostRunInput[] = [];

  for (let h = 0; h < n; h++) {
    const host = `droplet-${h + 1}`;
    const hostStart = start + Math.round(rand() * 1500);
    const speed = 0.75 + rand() * 0.6; // this droplet's pace against the estimates
    const failAt = o.failures?.[h];
    const timing: TimingRow[] = [];
    const controllerTiming: TimingRow[] = [];
    const runPhases: RunJsonInput['phases'] = [];
    const windows: { p: SyntheticPhase; from: number; to: number }[] = [];
    let t = hostStart + 400; // connect, lock, monitor start
    let failed = false;
    for (const p of phases) {
      if (failed) {
        runPhases.push({
          name: p.name,
          estimateS: p.estimateS,
          critical: p.critical,
          status: 'skipped',
          reason: 'an earlier critical phase failed',
        });
        continue;
      }
      // desktop is the usual laggard; some hosts overshoot it badly
      const lag = p.name === 'desktop' ? 1 + rand() * 0.9 : 0.85 + rand() * 0.4;
      const phaseS = p.estimateS * stretch * speed * lag;
      const phaseStart = t;
      const weights = p.steps.map(() => 0.3 + rand());
      const wsum = weights.reduce((a, b) => a + b, 0);
      const failHere = failAt === p.name;
      let st = phaseStart + 30;
      let phaseStatus: PhaseStatus = 'ok';
      for (let i = 0; i < p.steps.length; i++) {
        const dur = (phaseS - (30 * (p.steps.length + 1)) / 1000) * (weights[i] / wsum);
        const status: StepStatus = failHere && i === p.steps.length - 1 ? 'failed' : rand() < 0.7 ? 'changed' : 'ok';
        if (status === 'changed') phaseStatus = 'changed';
        if (status === 'failed') phaseStatus = 'failed';
        const row = (d: number, s: number): TimingRow => ({
          timestamp: isoMs(s + d * 1000),
          runId,
          host,
          phase: p.name,
          step: p.steps[i],
          startEpochS: r3(s / 1000),
          durationS: r3(d),
          status,
        });
        timing.push(row(dur, st));
        // the laptop sees each step a round trip (and a little more) later
        controllerTiming.push(row(dur + 0.02 + rand() * 0.08, st - 10));
        st += dur * 1000 + 30;
        if (status === 'failed') break;
      }
      const durS = (st - phaseStart) / 1000;
      timing.push({
        timestamp: isoMs(st),
        runId,
        host,
        phase: p.name,
        step: '',
        startEpochS: r3(phaseStart / 1000),
        durationS: r3(durS),
        status: phaseStatus === 'failed' ? 'failed' : phaseStatus,
      });
      const ctlS = durS + 0.05 + rand() * 0.2;
      controllerTiming.push({
        timestamp: isoMs(phaseStart - 20 + ctlS * 1000),
        runId,
        host,
        phase: p.name,
        step: '',
        startEpochS: r3((phaseStart - 20) / 1000),
        durationS: r3(ctlS),
        status: phaseStatus,
      });
      runPhases.push({
        name: p.name,
        estimateS: p.estimateS,
        critical: p.critical,
        status: phaseStatus,
        startedAt: isoMs(phaseStart - 20),
        durationMs: Math.round(ctlS * 1000),
        ...(phaseStatus === 'failed'
          ? {
              reason: `step "${p.steps.at(-1)}" failed: exit 100`,
              failedSteps: [
                {
                  step: p.steps.at(-1)!,
                  output: `E: Unable to locate package ${p.name}-<script>alert(1)</script>\nE: Sub-process /usr/bin/dpkg returned an error code (1)`,
                },
              ],
            }
          : {}),
      });
      windows.push({ p, from: phaseStart, to: st });
      t = st + 80;
      if (phaseStatus === 'failed' && p.critical) failed = true;
    }
    const hostEnd = t + 500;

    // resource samples over the host's run
    const resources: ResourceSample[] = [];
    const memTotal = 3900;
    let diskAvail = 52000 + rand() * 4000;
    const lowMem = o.lowMemory?.includes(h) ?? false;
    for (let ts = hostStart + interval * 1000; ts <= hostEnd; ts += interval * 1000) {
      const w = windows.find((x) => x.from <= ts && ts <= x.to);
      const busy = w ? w.p : undefined;
      const base = busy ? busy.cpu : 3;
      const cpu = Math.max(0, Math.min(100, base + (rand() - 0.5) * 30 + (busy && rand() < 0.15 ? 25 : 0)));
      const rx = busy ? busy.netKbps * (0.3 + rand() * 1.2) : rand() * 4;
      const writeKbps = busy
        ? ((busy.diskMb * 1024) / Math.max(1, (w!.to - w!.from) / 1000)) * (0.4 + rand() * 1.4)
        : rand() * 20;
      diskAvail = Math.max(0, diskAvail - ((writeKbps * interval) / 1024) * 0.6);
      let memUsed = 380 + (busy ? busy.cpu * 9 : 40) + rand() * 200;
      if (lowMem && busy?.name === 'desktop') memUsed = memTotal - 120 - rand() * 250;
      resources.push({
        timestamp: isoMs(ts),
        t: Math.round(ts),
        host,
        cpuPct: r1(cpu),
        memUsedMb: Math.round(memUsed),
        memAvailableMb: Math.round(memTotal - memUsed),
        diskAvailMb: Math.round(diskAvail),
        diskReadKbps: r1(busy ? writeKbps * 0.2 * rand() : 0),
        diskWriteKbps: r1(writeKbps),
        netRxKbps: r1(rx),
        netTxKbps: r1(rx * 0.03 + rand() * 3),
        load1: r1((cpu / 100) * 2.2 + rand() * 0.4),
        procs: Math.round(95 + (busy ? busy.cpu / 3 : 0) + rand() * 10),
      });
    }

    const status: HostStatus = failAt ? 'failed' : 'ok';
    const liveAlerts: Alert[] = [];
    const run: RunJsonInput = {
      runId,
      host,
      address: `203.0.113.${10 + h}`,
      startedAt: isoMs(hostStart),
      endedAt: isoMs(hostEnd),
      status,
      ...(failAt
        ? { error: `phase ${failAt} failed: step "${phases.find((p) => p.name === failAt)?.steps.at(-1)}" exited 100` }
        : {}),
      phases: runPhases,
      thresholds,
      alerts: liveAlerts,
    };
    hosts.push({ host, run: run as HostRunInput['run'], timing, controllerTiming, resources });
  }
  return { runId, hosts };
}

const sec = (v: number) => String(r3(v));

/** Writes inputs as reports/<run-id>/<host>/{run.json,timing.csv,controller-timing.csv,resources.csv}. */
export async function writeRunFolder(runDir: string, inputs: RunInputs): Promise<void> {
  const timingCsv = (rows: TimingRow[]) =>
    stringify(
      rows.map((r) => [r.timestamp, r.runId, r.host, r.phase, r.step, sec(r.startEpochS), sec(r.durationS), r.status]),
      { ...CSV_STRINGIFY_GUARD, header: true, columns: [...TIMING_COLUMNS] },
    );
  await Promise.all(
    inputs.hosts.map(async (h) => {
      const dir = join(runDir, h.host);
      await mkdir(dir, { recursive: true });
      const res = stringify(
        h.resources.map((s) =>
          [
            s.timestamp,
            s.host,
            s.cpuPct,
            s.memUsedMb,
            s.memAvailableMb,
            s.diskAvailMb,
            s.diskReadKbps,
            s.diskWriteKbps,
            s.netRxKbps,
            s.netTxKbps,
            s.load1,
            s.procs,
          ].map(String),
        ),
        { ...CSV_STRINGIFY_GUARD, header: true, columns: [...RESOURCE_COLUMNS] },
      );
      await Promise.all([
        h.run ? writeFile(join(dir, 'run.json'), JSON.stringify(h.run, null, 2) + '\n') : Promise.resolve(),
        writeFile(join(dir, 'timing.csv'), timingCsv(h.timing)),
        writeFile(join(dir, 'controller-timing.csv'), timingCsv(h.controllerTiming)),
        writeFile(join(dir, 'resources.csv'), res),
      ]);
    }),
  );
}
