/** Peer reputation: the action policy, score maths and the ledger. See DESIGN.md "Reputation". */
export * from './actions.js'
export * from './score.js'
export * from './snapshot.js'
export * from './ledger.js'
export * from './promise-judge.js'
