// OpenTelemetry traces, on when an OTLP endpoint is configured. @apollo/gateway already
// emits spans (request, plan, validate, fetch per subgraph) through @opentelemetry/api;
// registering a provider here exports them, with the service name of this process.
//
// The SDK and the OTLP exporter are imported only then: with protobufjs under them,
// their modules' source text was the largest part of the gateway's heap that V8 marks
// again at every full collection (heap snapshot of 2026-12-03), tracing on or off.
import type { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';

let provider: Promise<NodeTracerProvider> | null = null;

async function register(serviceName: string, endpoint: string): Promise<NodeTracerProvider> {
  const [{ OTLPTraceExporter }, { resourceFromAttributes }, sdk] = await Promise.all([
    import('@opentelemetry/exporter-trace-otlp-http'),
    import('@opentelemetry/resources'),
    import('@opentelemetry/sdk-trace-node'),
  ]);
  const registered = new sdk.NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': serviceName }),
    spanProcessors: [
      new sdk.BatchSpanProcessor(
        new OTLPTraceExporter({ url: new URL('/v1/traces', endpoint).toString() }),
        { scheduledDelayMillis: 1000 },
      ),
    ],
  });
  registered.register();
  return registered;
}

/** Registers the process-wide tracer provider once; returns a flush-and-stop function. */
export async function startTracing(
  serviceName: string,
  endpoint: string,
): Promise<() => Promise<void>> {
  provider ??= register(serviceName, endpoint);
  const registered = await provider;
  return async () => {
    await registered.forceFlush();
  };
}
