import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import {
  AVOID_BELOW, BAN_BELOW, GOSSIPSUB_DEFAULT_THRESHOLDS, MAX_SCORE, MIN_SCORE,
  clampScore, decayFactor, scoreToState, toGossipsubAppScore
} from '../../../../src/core/reputation/score.js'
import { ACTION_EFFECTS, ReputationAction, isReputationAction } from '../../../../src/core/reputation/actions.js'

describe('scoreToState', () => {
  it('is healthy at and above the avoid line, avoid below it, banned below the ban line', () => {
    expect(scoreToState(0)).toBe('healthy')
    expect(scoreToState(MAX_SCORE)).toBe('healthy')
    expect(scoreToState(AVOID_BELOW)).toBe('healthy')
    expect(scoreToState(AVOID_BELOW - 0.01)).toBe('avoid')
    expect(scoreToState(BAN_BELOW)).toBe('avoid')
    expect(scoreToState(BAN_BELOW - 0.01)).toBe('banned')
    expect(scoreToState(MIN_SCORE)).toBe('banned')
  })

  it('orders the lines: floor < ban < avoid < 0', () => {
    expect(MIN_SCORE).toBeLessThan(BAN_BELOW)
    expect(BAN_BELOW).toBeLessThan(AVOID_BELOW)
    expect(AVOID_BELOW).toBeLessThan(0)
  })
})

describe('decayFactor', () => {
  it('halves per half-life and never grows', () => {
    expect(decayFactor(0, 1000)).toBe(1)
    expect(decayFactor(1000, 1000)).toBeCloseTo(0.5, 12)
    expect(decayFactor(3000, 1000)).toBeCloseTo(0.125, 12)
    expect(decayFactor(-5000, 1000)).toBe(1)
    expect(decayFactor(Number.NaN, 1000)).toBe(1)
  })
})

describe('clampScore', () => {
  it('keeps scores in range and maps NaN to neutral', () => {
    expect(clampScore(1e9)).toBe(MAX_SCORE)
    expect(clampScore(-1e9)).toBe(MIN_SCORE)
    expect(clampScore(Number.NaN)).toBe(0)
  })
})

describe('toGossipsubAppScore', () => {
  const { gossipThreshold, graylistThreshold } = GOSSIPSUB_DEFAULT_THRESHOLDS

  it('puts avoided peers below gossipsub\'s gossip threshold and banned ones below its graylist', () => {
    expect(toGossipsubAppScore(AVOID_BELOW - 0.01)).toBeLessThan(gossipThreshold)
    expect(toGossipsubAppScore(BAN_BELOW - 0.01)).toBeLessThan(graylistThreshold)
    expect(toGossipsubAppScore(0)).toBe(0)
  })

  it('gives good peers a little credit, never enough to cancel a graylisting', () => {
    expect(toGossipsubAppScore(MAX_SCORE)).toBeGreaterThan(0)
    expect(toGossipsubAppScore(MAX_SCORE)).toBeLessThanOrEqual(10)
  })

  it('is monotonic and finite for any input', () => {
    fc.assert(fc.property(fc.double(), fc.double(), (a, b) => {
      const ga = toGossipsubAppScore(a)
      expect(Number.isFinite(ga)).toBe(true)
      if (!Number.isNaN(a) && !Number.isNaN(b) && a <= b) expect(ga).toBeLessThanOrEqual(toGossipsubAppScore(b))
    }))
  })
})

describe('actions', () => {
  it('every action has an effect and only enum values are actions', () => {
    for (const action of Object.values(ReputationAction)) {
      expect(ACTION_EFFECTS[action]).toBeDefined()
      expect(isReputationAction(action)).toBe(true)
    }
    expect(isReputationAction('toString')).toBe(false)
    expect(isReputationAction(42)).toBe(false)
  })

  it('rewards only success', () => {
    for (const [action, effect] of Object.entries(ACTION_EFFECTS)) {
      if (action === ReputationAction.TaskSucceeded) expect(effect.delta).toBeGreaterThan(0)
      else expect(effect.delta).toBeLessThan(0)
    }
  })
})
