// Transitional: the Kubernetes simulator now lives in @kasmap/kube-simulator (`npm start` serves
// its demo cluster). test/e2e and infra/nats still import it from here; switch them and delete
// this line.
export * from "@kasmap/kube-simulator";
export * from "./cluster-facts.ts";
