// Worker threads that answer requests one at a time each (bulk work of one process: the staging and
// rating of a large CDR file). The pool hands a request to the thread with the fewest waiting, and
// fails every open request when a thread dies; a thread runs its handler through serveThread.
import { once } from 'node:events';
import { parentPort, type ResourceLimits, Worker } from 'node:worker_threads';

interface Answer<Res> {
  id: number;
  result?: Res;
  error?: { message: string; code?: string };
}

export class ThreadPool<Req, Res> {
  private readonly workers: Worker[];
  private readonly open = new Map<number, { worker: Worker; resolve: (r: Res) => void; reject: (err: unknown) => void }>();
  private readonly load = new Map<Worker, number>();
  private readonly exited = new Set<Worker>();
  private sent = 0;
  private broken: unknown;

  constructor(url: URL, threads: number, workerData: unknown, resourceLimits?: ResourceLimits) {
    this.workers = Array.from({ length: threads }, () => {
      const w = new Worker(url, { workerData, ...(resourceLimits ? { resourceLimits } : {}) });
      this.load.set(w, 0);
      w.on('message', (m: Answer<Res>) => {
        const p = this.open.get(m.id);
        if (!p) return;
        this.open.delete(m.id);
        this.load.set(w, (this.load.get(w) ?? 1) - 1);
        if ('result' in m) p.resolve(m.result as Res);
        else p.reject(Object.assign(new Error(m.error?.message ?? 'the thread failed'), { code: m.error?.code }));
      });
      w.on('error', (err) => this.fail(err));
      w.on('exit', (code) => {
        this.exited.add(w);
        if ([...this.open.values()].some((p) => p.worker === w)) this.fail(new Error(`a worker thread stopped (exit code ${code})`));
      });
      return w;
    });
  }

  get size(): number {
    return this.workers.length;
  }

  private fail(err: unknown): void {
    this.broken ??= err;
    for (const p of this.open.values()) p.reject(err);
    this.open.clear();
  }

  /** The request to the live thread with the fewest requests waiting. */
  run(req: Req): Promise<Res> {
    if (this.broken) return Promise.reject(this.broken);
    const live = this.workers.filter((w) => !this.exited.has(w));
    if (live.length === 0) return Promise.reject(new Error('the worker threads stopped'));
    const w = live.reduce((a, b) => ((this.load.get(b) ?? 0) < (this.load.get(a) ?? 0) ? b : a));
    const id = ++this.sent;
    this.load.set(w, (this.load.get(w) ?? 0) + 1);
    return new Promise<Res>((resolve, reject) => {
      this.open.set(id, { worker: w, resolve, reject });
      w.postMessage({ id, req });
    });
  }

  /** `done`: each thread finishes what it was sent, closes (serveThread's onClose) and ends; else the threads are stopped where they are. */
  async close(done: boolean): Promise<void> {
    await Promise.all(
      this.workers.map(async (w) => {
        if (this.exited.has(w)) return;
        if (!done) return w.terminate();
        const exited = once(w, 'exit');
        w.postMessage('close');
        await exited;
      }),
    );
  }
}

/** The thread's side of a ThreadPool: requests handled one at a time in arrival order, each answered with its result or its error. */
export function serveThread<Req, Res>(handle: (req: Req) => Promise<Res>, onClose: () => Promise<void>): void {
  const port = parentPort;
  if (!port) throw new Error('serveThread runs in a worker thread');
  let queue: Promise<void> = Promise.resolve();
  port.on('message', (m: { id: number; req: Req } | 'close') => {
    if (m === 'close') {
      queue = queue.then(onClose).then(() => port.close());
      return;
    }
    queue = queue.then(async () => {
      try {
        port.postMessage({ id: m.id, result: await handle(m.req) });
      } catch (err) {
        port.postMessage({ id: m.id, error: { message: (err as Error).message, code: (err as { code?: string }).code } });
      }
    });
  });
}
