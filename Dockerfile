# fedmesh daemon in a container (README "Running it as a service").
#   docker build -t fedmesh --build-arg FEDMESH_COMMIT=$(git rev-parse HEAD) .
#   docker run -d --name fedmesh --network host --stop-timeout 20 -v fedmesh-data:/data fedmesh
#   docker exec fedmesh fedmesh status        # the CLI, inside the container (the API is loopback only)
# --network host lets mDNS find peers on the LAN and peers reach port 4101; without it, publish
# the port (-p 4101:4101) and join through --bootstrap or an invite (--join TOKEN).

FROM node:24-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
# No install scripts: `prepare` would build before the sources are here, and the pinned `node`
# devDependency is not needed (the image has Node 24).
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json ./
COPY bin bin
COPY scripts scripts
COPY simulations simulations
COPY src src
ARG FEDMESH_COMMIT=
RUN ./node_modules/.bin/tsc -p tsconfig.json \
 && FEDMESH_COMMIT="$FEDMESH_COMMIT" node scripts/build-info.mjs \
 && node scripts/bundle-daemon.mjs \
 && npm prune --omit=dev --ignore-scripts --no-audit --no-fund

FROM node:24-bookworm-slim
ENV NODE_ENV=production FEDMESH_DATA_DIR=/data
WORKDIR /app
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules node_modules
COPY --from=build /src/dist dist
COPY --from=build /src/bin bin
COPY simulations/scenarios simulations/scenarios
RUN ln -s /app/bin/fedmesh.js /usr/local/bin/fedmesh && mkdir -p /data && chown node:node /data
USER node
VOLUME /data
EXPOSE 4101
# SIGTERM: the daemon finishes or hands back running tasks and flushes its store within 10 s.
STOPSIGNAL SIGTERM
ENTRYPOINT ["fedmesh"]
CMD ["daemon", "--listen", "/ip4/0.0.0.0/tcp/4101"]
