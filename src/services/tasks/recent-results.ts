import type { TaskRecord } from '../../store/task-journal.js'

/**
 * The newest finished tasks by id (looked up on every submission: a resubmitted id gets its
 * first answer), at most `limit`, the oldest forgotten first; one remembered again is newest.
 */
export class RecentResults {
  private readonly byId = new Map<string, TaskRecord>()
  /**
   * The records in the order they were remembered, stale ones included (an id remembered again
   * stays at its old place too), the oldest at `head`. The oldest is found here, not as the
   * map's first key: a map that keeps losing its first entries walks over their holes to find
   * the next one (a microsecond per task at 200). Read from `head` on, not shifted: a shift
   * moves every place after the first (with a write barrier per place while the GC marks).
   */
  private order: Array<TaskRecord | undefined> = []
  private head = 0

  constructor (private readonly limit: number) {}

  get (taskId: string): TaskRecord | undefined {
    return this.byId.get(taskId)
  }

  remember (r: TaskRecord): void {
    if (this.byId.has(r.taskId)) this.byId.delete(r.taskId)
    this.byId.set(r.taskId, r)
    this.order.push(r)
    while (this.byId.size > this.limit) {
      const oldest = this.order[this.head] as TaskRecord
      this.order[this.head++] = undefined
      // Remembered again since: its newer place is further back.
      if (this.byId.get(oldest.taskId) === oldest) this.byId.delete(oldest.taskId)
    }
    // Read places never outnumber the live ones for long, nor stale places the live ones.
    if (this.head > this.limit + 16) {
      this.order = this.order.slice(this.head)
      this.head = 0
    }
    if (this.order.length - this.head > 2 * this.limit + 16) {
      this.order = [...this.byId.values()]
      this.head = 0
    }
  }

  /** Newest first. */
  newestFirst (): TaskRecord[] {
    return [...this.byId.values()].reverse()
  }
}
