import { Role } from '../core/federation/roles.js'
import { allowedBy } from '../services/tasks/allow-list.js'
import { ErrorCode } from '../wire/task.js'
import type { FederationService } from '../services/federation/federation-service.js'

/**
 * May `origin` ('local' or a peer id) run `kind` on this node (`allow`: the kind's allow list
 * when it is an owner-configured command kind)? The node owner always may. A
 * peer needs the federation's `submit` role, this node needs `serve`, and an owner-configured
 * command kind runs only for those its `allow` list names (only the owner, unless configured).
 * Built-in kinds and kinds registered in code follow `submit`.
 */
export function authorizeTask (federation: FederationService | undefined, allow: readonly string[] | undefined, origin: string, kind: string): { code: ErrorCode, message: string } | undefined {
  if (origin === 'local') return undefined
  if (federation == null) return { code: ErrorCode.FORBIDDEN, message: 'the node is not running' }
  if (!federation.selfAllows(Role.serve)) return { code: ErrorCode.FORBIDDEN, message: 'this node does not serve tasks (its certificate has no serve role)' }
  if (!federation.allows(origin, Role.submit)) return { code: ErrorCode.FORBIDDEN, message: 'you may not submit tasks (your certificate has no submit role)' }
  if (allow != null && !allowedBy(allow, origin, (peer, role) => federation.allows(peer, role))) {
    return { code: ErrorCode.FORBIDDEN, message: `the owner runs kind ${kind} here only for: ${allow.join(', ')}` }
  }
  return undefined
}
