// Package funcproto speaks the Azure Functions custom-handler protocol in
// both directions: the handler side decodes the invocations the Functions
// host POSTs and writes the answers it expects; the host side encodes
// invocations exactly as the real host does, so galsync's local host
// exercises the handlers against the real encoding, quirks included.
//
// The shapes follow the Functions host's source (Azure/azure-functions-host):
//   - src/WebJobs.Script/Workers/MessageExtensions/ScriptInvocationContextExtensions.cs
//     (ToHttpScriptInvocationContext, GetHttpScriptInvocationContextValue):
//     a string input or metadata value is sent as JsonConvert.SerializeObject
//     of the string, i.e. the JSON text of the string, inside the JSON
//     envelope (double-encoded); numbers go the same way and arrive as
//     strings ("1"); a DateTime goes through DateTime.Parse(value.ToString()),
//     which drops the fraction and the zone; objects (TimerInfo,
//     dictionaries) go through JObject.FromObject and arrive as objects;
//     binding data keys ending in "trigger" and HTTP requests are left out of
//     Metadata.
//   - src/WebJobs.Script/Extensions/HttpRequestExtensions.cs
//     (GetRequestAsJObject): the HTTP envelope Url, Method, Query, Headers,
//     Params, Identities, and Body only when Content-Length > 0.
//   - test/WebJobs.Script.Tests/Workers/ScriptInvocationContextExtensionsTests.cs
//     (GetHttpScriptInvocationContextValueTest_String asserts "\"stringTest\"").
//   - src/WebJobs.Script/Workers/Http/DefaultHttpWorkerService.cs: the
//     invocation headers, EnsureSuccessStatusCode before reading outputs, and
//     ReadAsAsync<HttpScriptInvocationResult> of the answer (JSON only).
//   - src/WebJobs.Script/Workers/Http/HttpScriptInvocationResultExtensions.cs
//     and HttpOutputBindingResponse.cs: the http output binding value.
package funcproto
