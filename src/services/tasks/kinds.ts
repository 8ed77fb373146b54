/** Task kinds every node serves (CONTRACT.md "Task kinds every node serves"). */
export const BUILTIN_KINDS: readonly string[] = ['echo', 'sha256', 'sleep']
