// Checks GET /admin/openapi.json of a running Portico (tests/openapi/run.sh starts it with the
// test protos and every example's protos, in front of the greeter example's backend):
//   1. a real OpenAPI 3.1 validator (@seriousme/openapi-schema-validator, the official JSON
//      Schemas of the specification) and Redocly's linter (@redocly/openapi-core: references,
//      path parameters, unique operationIds, identical paths, ...) accept it;
//   2. every route of GET /admin/routes is an operation (path template, HTTP method, gRPC
//      method), every {param} of every path is declared, every template variable is bound by
//      a parameter, and every $ref resolves;
//   3. a generated client (swagger-client, the engine of Swagger UI) built from the document
//      calls the greeter through Portico: a GET rule with a path parameter, a POST rule, the
//      default POST /pkg.Svc/Method route, a server stream (NDJSON), and an error reply
//      shaped as the document's google.rpc.Status.
//
//   node openapi_check.mjs http://ADMIN_HOST:PORT http://DATA_HOST:PORT
// Exit status 0 when every check passed, 1 otherwise.
import { Validator } from "@seriousme/openapi-schema-validator";
import { createConfig, lintFromString } from "@redocly/openapi-core";
import SwaggerClient from "swagger-client";

const [admin, data] = process.argv.slice(2);
let failures = 0;
let passes = 0;
function check(ok, what, detail) {
  if (ok) {
    passes++;
  } else {
    failures++;
    console.error(`FAIL: ${what}${detail === undefined ? "" : `: ${typeof detail === "string" ? detail : JSON.stringify(detail)}`}`);
  }
}

async function getJson(url) {
  const r = await fetch(url);
  if (r.status !== 200) throw new Error(`${url}: HTTP ${r.status}: ${await r.text()}`);
  return r.json();
}

const doc = await getJson(`${admin}/admin/openapi.json`);
const text = JSON.stringify(doc);
console.log(`openapi.json: ${text.length} bytes, ${Object.keys(doc.paths).length} paths, ` +
            `${Object.keys(doc.components.schemas).length} schemas`);

// --- 1. validators -------------------------------------------------------------------------
{
  const validator = new Validator();
  const result = await validator.validate(structuredClone(doc));
  check(validator.version === "3.1", "validator sees OpenAPI 3.1", validator.version);
  check(result.valid, "openapi-schema-validator accepts the document", result.errors);
}
{
  // Redocly's recommended rules, minus the ones about documentation style or things Portico
  // cannot know (security schemes of the data plane's policies, a licence, 4xx examples).
  const config = await createConfig({
    extends: ["recommended"],
    rules: {
      "security-defined": "off",
      "info-license": "off",
      "info-license-url": "off",
      "operation-4xx-response": "off",
      "operation-summary": "off",
      "tag-description": "off",
      "no-server-trailing-slash": "off",
      "no-ambiguous-paths": "off",
      "operation-operationId-url-safe": "error",
      "no-identical-paths": "error",
      "path-parameters-defined": "error",
      "operation-operationId-unique": "error",
      "operation-parameters-unique": "error",
      "no-unresolved-refs": "error",
      "spec-components-invalid-map-name": "error",
      "no-path-trailing-slash": "error",
    },
  });
  const problems = await lintFromString({ source: text, absoluteRef: "openapi.json", config });
  for (const p of problems) {
    const where = (p.location ?? []).map((l) => l.pointer).join(", ");
    console.log(`redocly ${p.severity}: ${p.ruleId}: ${p.message} (${where})`);
  }
  check(problems.filter((p) => p.severity === "error").length === 0,
        "Redocly lint finds no error", problems.filter((p) => p.severity === "error").length);
}

// --- 2. routes, parameters, references -----------------------------------------------------
const STANDARD = new Set(["get", "put", "post", "delete", "options", "head", "patch", "trace"]);
const operations = [];  // {path, method, op}
for (const [path, item] of Object.entries(doc.paths)) {
  for (const [method, op] of Object.entries(item)) {
    if (STANDARD.has(method)) operations.push({ path, method: method.toUpperCase(), op });
  }
  for (const [method, op] of Object.entries(item["x-portico-custom-methods"] ?? {})) {
    operations.push({ path, method, op });
  }
}
const routes = (await getJson(`${admin}/admin/routes`)).routes;
check(routes.length > 40, "the test and example protos give many routes", routes.length);
check(operations.length === routes.length, "one operation per route",
      { operations: operations.length, routes: routes.length });
check(doc["x-portico-omitted"] === undefined, "no route omitted", doc["x-portico-omitted"]);
const services = new Set(doc.tags.map((t) => t.name));
for (const s of ["greeter.v1.Greeter", "chat.v1.Chat", "portico.test.v1.TestService"]) {
  check(services.has(s), `tag ${s}`);
}
for (const route of routes) {
  const match = operations.find(
      (o) => o.method === route.http_method && o.op["x-portico-path-template"] === route.path &&
             o.op["x-portico-grpc-method"] === route.grpc_method);
  check(match !== undefined, `route ${route.http_method} ${route.path} is an operation`);
  if (!match) continue;
  const params = match.op.parameters ?? [];
  // Every {name} of the OpenAPI path is a declared path parameter...
  for (const [, name] of match.path.matchAll(/\{([^}]+)\}/g)) {
    check(params.some((p) => p.in === "path" && p.name === name && p.required === true),
          `${match.path}: {${name}} declared`);
  }
  // ... and every variable of the template is bound by one of them.
  for (const [, variable] of route.path.matchAll(/\{([^}=]+)(=[^}]*)?\}/g)) {
    check(params.some((p) => p.in === "path" && p["x-portico-field"] === variable),
          `${route.path}: variable ${variable} has a path parameter`);
  }
  const streaming = match.op["x-portico-streaming"];
  check(streaming === route.streaming, `${route.path}: streaming ${route.streaming}`, streaming);
  check(match.op.responses?.default?.content?.["application/json"]?.schema?.$ref ===
        "#/components/schemas/google.rpc.Status", `${route.path}: default response is Status`);
}
{
  let refs = 0;
  const resolve = (ref) => ref.slice(2).split("/")
      .map((s) => s.replaceAll("~1", "/").replaceAll("~0", "~"))
      .reduce((node, key) => (node === undefined ? undefined : node[key]), doc);
  const walk = (node, where) => {
    if (Array.isArray(node)) return node.forEach((n, i) => walk(n, `${where}/${i}`));
    if (node === null || typeof node !== "object") return;
    if (typeof node.$ref === "string") {
      refs++;
      check(node.$ref.startsWith("#/") && resolve(node.$ref) !== undefined,
            `$ref ${node.$ref} at ${where} resolves`);
    }
    for (const [k, v] of Object.entries(node)) walk(v, `${where}/${k}`);
  };
  walk(doc, "#");
  check(refs > 100, "the document uses $ref", refs);
}

// --- 3. a generated client -------------------------------------------------------------------
// The document's server is "/" (relative: the client's origin is its business); this client
// talks to the data listener.
const spec = structuredClone(doc);
spec.servers = [{ url: data }];
const client = await SwaggerClient({ spec });
check(client.errors.length === 0, "swagger-client resolves the document", client.errors);
// swagger-client's generated interface: client.apis[<tag>][<operationId with non-word
// characters as "_">](parameters, {requestBody}) (Swagger UI names operations the same way).
const call = async (operationId, parameters, requestBody, options = {}) => {
  const tag = operationId.slice(0, operationId.lastIndexOf("."));
  const method = client.apis[tag]?.[operationId.replace(/[^\w]/g, "_")];
  if (typeof method !== "function") {
    check(false, `swagger-client has client.apis["${tag}"] operation for ${operationId}`);
    return {};
  }
  try {
    return await method(parameters, requestBody === undefined ? options : { ...options, requestBody });
  } catch (e) {
    if (e.response) return e.response;
    throw e;
  }
};
{
  const r = await call("greeter.v1.Greeter.SayHello_http", { name: "openapi" });
  check(r.status === 200 && r.body?.message === "Hello, openapi!",
        "GET /v1/hello/{name} through swagger-client", { status: r.status, body: r.body });
  check(r.url === `${data}/v1/hello/openapi`, "swagger-client built the URL from the path", r.url);
}
{
  const r = await call("greeter.v1.Greeter.SayHello_http1", {}, { name: "body" });
  check(r.status === 200 && r.body?.message === "Hello, body!", "POST /v1/hello (body \"*\")",
        { status: r.status, body: r.body });
}
{
  const r = await call("greeter.v1.Greeter.SayHello", {}, { name: "default" });
  check(r.status === 200 && r.body?.message === "Hello, default!",
        "default route POST /greeter.v1.Greeter/SayHello", { status: r.status, body: r.body });
  check(r.url === `${data}/greeter.v1.Greeter/SayHello`, "default route URL", r.url);
}
{
  // A server stream: both media types the document lists (swagger-client would otherwise
  // send both in Accept, and Portico answers SSE then).
  const ndjson = await call("greeter.v1.Greeter.StreamHellos_http", { name: "stream", times: 2 },
                            undefined, { responseContentType: "application/x-ndjson" });
  const text = String(ndjson.text ?? ndjson.data ?? "");
  const lines = text.trim().split("\n").filter(Boolean).map((l) => JSON.parse(l));
  check(ndjson.status === 200 && lines.length === 2 &&
        lines[1].result?.message === "Hello, stream!" && lines[1].result?.index === 1,
        "server stream as NDJSON {result: ...} lines", { status: ndjson.status, text });
  const sse = await call("greeter.v1.Greeter.StreamHellos_http", { name: "sse", times: 2 },
                         undefined, { responseContentType: "text/event-stream" });
  const events = String(sse.text ?? sse.data ?? "");
  check(sse.status === 200 && (events.match(/^data: \{"message":"Hello, sse!"/gm) ?? []).length === 2 &&
        events.includes("event: end\ndata: {\"code\":0}"),
        "server stream as Server-Sent Events", { status: sse.status, events });
}
{
  // The test service has no backend here: 503 with the Status body the document describes.
  const r = await call("portico.test.v1.TestService.GetItem_http", { shelf: "s", item: "i", count: "5" });
  check(r.status === 503 && r.body?.code === 14 && typeof r.body?.message === "string",
        "an error reply is a google.rpc.Status", { status: r.status, body: r.body });
  check(r.url === `${data}/v1/shelves/s/items/i?count=5`, "path and query parameters", r.url);
}

console.log(`${passes} checks passed, ${failures} failed`);
process.exit(failures === 0 ? 0 : 1);
