# The quarantine worker image (docker-compose.yml builds and runs it).
#
# Base image: the official node:24.19.0-bookworm-slim, pinned by digest so that a rebuild cannot pick
# up a different image under the same tag. Both stages use it; move them together (tag and digest).
#
# npm: package.json's engines asks for npm >= 11.19, the npm that reads the `allowScripts` policy,
# and .npmrc's engine-strict makes an older npm refuse the install. Node's bundled npm is not
# guaranteed to be that new, so each stage installs this exact npm first.
ARG NPM_VERSION=11.19.1

FROM node:24.19.0-bookworm-slim@sha256:a9f5f7c91a432850b2a8a7797adf5eadb6c733ceed61167806cee7ea7fbc29df AS build
ARG NPM_VERSION
RUN npm install --global --no-audit --no-fund "npm@${NPM_VERSION}"
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
# Dependencies before sources, so that a source change reuses this layer. Dependency install scripts
# run under the allowScripts policy: an unreviewed one fails this build as it fails `npm ci` anywhere.
RUN npm ci
COPY . .
# tsc, then the prebuilt workflow bundle (dist/workflow-bundle.js): the worker starts without webpack.
RUN npm run build

FROM node:24.19.0-bookworm-slim@sha256:a9f5f7c91a432850b2a8a7797adf5eadb6c733ceed61167806cee7ea7fbc29df AS runtime
ARG NPM_VERSION
RUN npm install --global --no-audit --no-fund "npm@${NPM_VERSION}" && npm cache clean --force
ENV NODE_ENV=production QUARANTINE_DATA_DIR=/data
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
# No install script runs here: Temporal's core bridge ships prebuilt, and better-sqlite3's binding is
# the one its install script compiled in the build stage, on the same base image (same Node ABI, same
# libc). test/runtime-image.test.ts assembles this stage from these lines, without Docker.
RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY --from=build /app/bin ./bin
COPY --from=build /app/node_modules/better-sqlite3/build/Release/better_sqlite3.node ./node_modules/better-sqlite3/build/Release/better_sqlite3.node
# The data directory (QUARANTINE_DATA_DIR=/data, a volume the intake and the worker share): the
# intake's journal and the release index. A fresh volume takes this folder's owner.
RUN mkdir /data && chown node:node /data
# The code stays root-owned, so the process that holds the registry token cannot rewrite it.
USER node
ENTRYPOINT ["node", "bin/quarantine.js"]
CMD ["worker"]
