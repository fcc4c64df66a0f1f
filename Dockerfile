# trace-insights: HTTP + UDP (X-Ray daemon protocol) + aggregation worker in one process.
FROM node:20-slim

WORKDIR /app

# Full install, not --omit=dev: the sources run through tsx (bin/trace-insights.js), which is a
# devDependency. NODE_ENV is set only afterwards, since NODE_ENV=production makes npm ci skip dev deps.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund && npm cache clean --force

COPY tsconfig.json ./
COPY bin ./bin
COPY config ./config
COPY jobs ./jobs
COPY src ./src
# the browser console (served at /): npm ci's prepare step had no sources to build it from yet
COPY scripts/console ./scripts/console
RUN node --import tsx scripts/console/build.ts

ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=2000 \
    UDP_PORT=2000

# 2000/tcp: X-Ray API, sampling calls, our API, health and metrics; 2000/udp: segments from the SDKs.
EXPOSE 2000/tcp 2000/udp

USER node
# exec form, so SIGTERM reaches node (directly, or through the init that compose adds) for the graceful shutdown
CMD ["node", "bin/trace-insights.js", "start"]
