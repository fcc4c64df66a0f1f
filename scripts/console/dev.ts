/** Vite's dev server for the console with hot reload, proxying the API to a running trace-insights. */
import { createServer } from 'vite';
import { consoleViteConfig } from './vite-config.js';

const target = process.env.CONSOLE_API ?? 'http://127.0.0.1:2000';
const api = ['/v1', '/ServiceGraph', '/TimeSeriesServiceStatistics', '/InsightSummaries', '/Insight', '/InsightEvents', '/InsightImpactGraph', '/Traces', '/TraceSummaries', '/TraceGraph'];
const server = await createServer(consoleViteConfig({ logLevel: 'info', server: { port: 5173, proxy: Object.fromEntries(api.map((p) => [p, target])) } }));
await server.listen();
server.printUrls();
