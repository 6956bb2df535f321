// End-to-end check of a site agent's MCP endpoint with the reference
// TypeScript MCP client, run by TestEndToEndNodeClient (mcp/e2e_test.go).
//
// Environment:
//   MCP_URL         the streamable HTTP endpoint
//   MCP_API_KEY     a key granting orders:read and orders:write, nothing else
//   MCP_ORDER_UUID  an order in pending-provider
//
// It prints one JSON line with what it saw and exits non-zero on the first
// unexpected answer.

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const url = new URL(process.env.MCP_URL);
const key = process.env.MCP_API_KEY;
const orderUUID = process.env.MCP_ORDER_UUID;

function fail(message) {
  console.error(`e2e: ${message}`);
  process.exit(1);
}

async function connect(headers) {
  const client = new Client({ name: "waldur-agent-go-e2e", version: "0.0.0" });
  const transport = new StreamableHTTPClientTransport(url, { requestInit: { headers } });
  await client.connect(transport);
  return client;
}

// Without a key the server refuses before any MCP exchange.
let refusal = "";
try {
  const c = await connect({});
  await c.close();
} catch (err) {
  refusal = String(err?.message ?? err);
}
if (!refusal) fail("connected without an API key");

const client = await connect({ Authorization: `Bearer ${key}` });

const { tools } = await client.listTools();
const names = tools.map((t) => t.name).sort();
for (const want of ["list_pending_orders", "get_order", "approve_order", "reject_order", "report_usage"]) {
  if (!names.includes(want)) fail(`tool ${want} missing from ${names}`);
}
const approveTool = tools.find((t) => t.name === "approve_order");
if (approveTool.annotations?.readOnlyHint !== false || approveTool.annotations?.idempotentHint !== true) {
  fail(`approve_order annotations: ${JSON.stringify(approveTool.annotations)}`);
}
if (!approveTool.inputSchema?.required?.includes("uuid")) fail("approve_order input schema lacks uuid");

// A read tool.
const read = await client.callTool({ name: "get_order", arguments: { uuid: orderUUID } });
if (read.isError) fail(`get_order: ${JSON.stringify(read.content)}`);
if (read.structuredContent?.state !== "pending-provider") fail(`get_order state: ${JSON.stringify(read.structuredContent)}`);

// A write tool.
const write = await client.callTool({ name: "approve_order", arguments: { uuid: orderUUID } });
if (write.isError) fail(`approve_order: ${JSON.stringify(write.content)}`);

// A tool outside the key's scopes is refused as a tool error.
const denied = await client.callTool({
  name: "report_usage",
  arguments: { resource_uuid: orderUUID, usages: [{ type: "cpu", amount: 1 }] },
});
const deniedText = denied.content?.map((c) => c.text).join("") ?? "";
if (!denied.isError || !deniedText.includes("usage:write")) fail(`report_usage with orders scopes only: ${deniedText}`);

await client.close();

console.log(
  JSON.stringify({
    refused_without_key: refusal,
    tools: names.length,
    read_state: read.structuredContent.state,
    approved_state: write.structuredContent.state,
    approved_changed: write.structuredContent.changed,
    denied: deniedText,
  }),
);
