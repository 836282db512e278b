/**
 * Evaluation page: start an OTB one-pass evaluation on the server's dataset (trackers, sequences, rotation rate Δ),
 * watch its progress; and the reports under the server's evaluation folder, newest first — choosing one shows its
 * report.md (tables and success/precision plots). Says so plainly when there is nothing.
 */
import type { EvalEnd, EvalInfo, EvalProgress, EvalReportInfo } from '../../server/protocol.js';
import { $, api, status } from './lib/api.js';
import { renderMarkdown } from './lib/markdown.js';
import { connect, request } from './lib/socket.js';

const list = $('reports');
const view = $('report');
const msg = $('eval-status');

const socket = connect();
const runForm = $<HTMLFormElement>('run-form');
const runStatus = $('run-status');
const runStart = $<HTMLButtonElement>('run-start');
const runCancel = $<HTMLButtonElement>('run-cancel');
const runProgress = $<HTMLProgressElement>('run-progress');
const runProgressText = $('run-progress-text');
let runId: string | null = null;

function checkbox(name: string, value: string, checked: boolean): HTMLLabelElement {
  const l = document.createElement('label');
  const c = document.createElement('input');
  c.type = 'checkbox';
  c.name = name;
  c.value = value;
  c.checked = checked;
  l.append(c, ` ${value}`);
  return l;
}

function checked(name: string): string[] {
  return [...runForm.querySelectorAll<HTMLInputElement>(`input[name="${name}"]:checked`)].map((c) => c.value);
}

async function setupRunForm(): Promise<void> {
  let info: EvalInfo & { models: string[]; defaultModel: string };
  try {
    info = await api<EvalInfo & { models: string[]; defaultModel: string }>('/api/eval');
  } catch (e) {
    status(runStatus, `Could not ask the server: ${(e as Error).message}`, 'error');
    return;
  }
  if (!info.available) {
    status(runStatus, `Evaluations cannot run here: ${info.reason}`, 'error');
    return;
  }
  $('run-trackers').replaceChildren(...info.models.map((m) => checkbox('tracker', m, m === info.defaultModel)));
  $('run-sequences').replaceChildren(...info.sequences.map((s, i) => checkbox('sequence', s, i === 0)));
  runForm.hidden = false;
  if (info.running) status(runStatus, `An evaluation is running (${info.running}).`);
}

runForm.addEventListener('submit', (e) => {
  e.preventDefault();
  void startRun();
});
runCancel.addEventListener('click', () => {
  if (runId) request(socket, 'eval:cancel', { runId }).catch((e) => status(runStatus, (e as Error).message, 'error'));
});

/** Status line of the running evaluation, and whether it still waits in the queue (Redis mode) for a worker. */
let evaluating = '';
let waiting = false;

async function startRun(): Promise<void> {
  const trackers = checked('tracker');
  const sequences = checked('sequence');
  if (!trackers.length || !sequences.length) {
    status(runStatus, 'Choose at least one tracker and one sequence.', 'error');
    return;
  }
  const d = ($('run-delta') as HTMLInputElement).value;
  runStart.disabled = true;
  try {
    const r = await request(socket, 'eval:start', { trackers, sequences, ...(d !== '' ? { delta: Number(d) } : {}) });
    runId = r.runId;
    runCancel.disabled = false;
    $('run-progress-row').hidden = false;
    runProgress.value = 0;
    evaluating = `Evaluating ${trackers.join(', ')} on ${r.benchmark} (${r.sequences.length} sequences)…`;
    waiting = r.queued;
    status(runStatus, r.queued ? `Queued: waiting for a worker to evaluate ${trackers.join(', ')} on ${r.benchmark} (${r.sequences.length} sequences)…` : evaluating);
  } catch (e) {
    runStart.disabled = false;
    status(runStatus, `Could not start: ${(e as Error).message}`, 'error');
  }
}

socket.on('eval:progress', (p: EvalProgress) => {
  if (p.runId !== runId) return;
  if (waiting) {
    waiting = false;
    status(runStatus, evaluating);
  }
  runProgress.max = Math.max(1, p.sequencesTotal);
  runProgress.value = p.sequencesDone;
  const eta = p.etaSeconds === null ? '' : `, about ${Math.ceil(p.etaSeconds)} s left`;
  runProgressText.textContent = `${p.sequencesDone} / ${p.sequencesTotal} sequence runs · ${p.frames} frames at ${p.framesPerSecond.toFixed(1)} fps${eta}`;
});

socket.on('eval:end', (e: EvalEnd) => {
  if (e.runId !== runId) return;
  runId = null;
  runStart.disabled = false;
  runCancel.disabled = true;
  if (e.state === 'done') {
    const scores = (e.scores ?? []).map((s) => `${s.tracker}: success AUC ${s.successAuc.toFixed(3)}`).join(' · ');
    status(runStatus, `Done. ${scores}${e.failed.length ? ` (failed: ${e.failed.join('; ')})` : ''}`, 'ok');
    runProgress.value = runProgress.max;
    void main(e.report);
  } else if (e.state === 'cancelled') {
    status(runStatus, 'Evaluation cancelled.');
  } else {
    status(runStatus, e.error?.message ?? 'Evaluation failed.', 'error');
  }
});

async function main(select?: string): Promise<void> {
  status(msg, 'Loading the list of evaluation reports…');
  let reports: EvalReportInfo[];
  try {
    reports = (await api<{ reports: EvalReportInfo[] }>('/api/eval/reports')).reports;
  } catch (e) {
    status(msg, `Could not list the reports: ${(e as Error).message}`, 'error');
    return;
  }
  if (reports.length === 0) {
    status(msg, 'No evaluation reports yet: run one with the form above (or with eval/ into the server\'s evaluation folder, setting --eval-dir).', 'info');
    return;
  }
  status(msg, '');
  list.replaceChildren(
    ...reports.map((r) => {
      const li = document.createElement('li');
      const b = document.createElement('button');
      b.type = 'button';
      b.className = 'link';
      b.textContent = `${r.name} — ${new Date(r.modified).toLocaleString()}`;
      b.addEventListener('click', () => void show(r));
      li.append(b);
      return li;
    }),
  );
  await show(reports.find((r) => r.name === select) ?? reports[0]);
}

async function show(r: EvalReportInfo): Promise<void> {
  const base = `/api/eval/reports/${encodeURIComponent(r.name)}/`;
  view.replaceChildren();
  let md: string;
  try {
    const res = await fetch(base + 'report.md');
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    md = await res.text();
  } catch (e) {
    status(msg, `Could not load ${r.name}/report.md: ${(e as Error).message}`, 'error');
    return;
  }
  const resolve = (t: string) => (r.files.includes(t) ? base + encodeURIComponent(t) : null);
  view.append(renderMarkdown(md, resolve));
  const svgs = r.files.filter((f) => f.endsWith('.svg'));
  if (svgs.length) {
    const p = document.createElement('p');
    p.append('Vector plots: ');
    for (const f of svgs) {
      const a = document.createElement('a');
      a.href = base + encodeURIComponent(f);
      a.textContent = f;
      p.append(a, ' ');
    }
    view.append(p);
  }
}

void setupRunForm();
void main();
