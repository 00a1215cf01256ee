// OpenTelemetry traces, on when an OTLP endpoint is configured. @apollo/gateway already
// emits spans (request, plan, validate, fetch per subgraph) through @opentelemetry/api;
// registering a provider here exports them, with the service name of this process.
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, NodeTracerProvider } from '@opentelemetry/sdk-trace-node';

let provider: NodeTracerProvider | null = null;

/** Registers the process-wide tracer provider once; returns a flush-and-stop function. */
export function startTracing(serviceName: string, endpoint: string): () => Promise<void> {
  if (!provider) {
    provider = new NodeTracerProvider({
      resource: resourceFromAttributes({ 'service.name': serviceName }),
      spanProcessors: [
        new BatchSpanProcessor(
          new OTLPTraceExporter({ url: new URL('/v1/traces', endpoint).toString() }),
          {
            scheduledDelayMillis: 1000,
          },
        ),
      ],
    });
    provider.register();
  }
  const registered = provider;
  return async () => {
    await registered.forceFlush();
  };
}
