/** The gossipsub topic cache entries travel on (CONTRACT.md "Wire names"). */
export const CACHE_TOPIC = '/fedmesh/cache/1'
