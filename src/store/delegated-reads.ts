/**
 * @module delegated-reads
 * Both backends answer reads through an inner object (SQLite: guarded against an open
 * transaction; PostgreSQL: on the pool). This base class forwards every StoreReads method
 * to it, so the list lives in one place.
 */
import type { StoreReads } from './store.js';

export abstract class DelegatedReads implements StoreReads {
  protected abstract readonly reads: StoreReads;

  getItem: StoreReads['getItem'] = (...a) => this.reads.getItem(...a);
  getItems: StoreReads['getItems'] = (...a) => this.reads.getItems(...a);
  findByIdempotencyKey: StoreReads['findByIdempotencyKey'] = (...a) => this.reads.findByIdempotencyKey(...a);
  listItems: StoreReads['listItems'] = (...a) => this.reads.listItems(...a);
  countByStatus: StoreReads['countByStatus'] = (...a) => this.reads.countByStatus(...a);
  queuedItems: StoreReads['queuedItems'] = (...a) => this.reads.queuedItems(...a);
  pendingDependents: StoreReads['pendingDependents'] = (...a) => this.reads.pendingDependents(...a);
  activeCountForExecutor: StoreReads['activeCountForExecutor'] = (...a) =>
    this.reads.activeCountForExecutor(...a);
  nextRunAt: StoreReads['nextRunAt'] = (...a) => this.reads.nextRunAt(...a);
  receipts: StoreReads['receipts'] = (...a) => this.reads.receipts(...a);
  eventsAfter: StoreReads['eventsAfter'] = (...a) => this.reads.eventsAfter(...a);
  itemEvents: StoreReads['itemEvents'] = (...a) => this.reads.itemEvents(...a);
  headSeq: StoreReads['headSeq'] = (...a) => this.reads.headSeq(...a);
  getExecutor: StoreReads['getExecutor'] = (...a) => this.reads.getExecutor(...a);
  listExecutors: StoreReads['listExecutors'] = (...a) => this.reads.listExecutors(...a);
  logs: StoreReads['logs'] = (...a) => this.reads.logs(...a);
  getWorkflow: StoreReads['getWorkflow'] = (...a) => this.reads.getWorkflow(...a);
  workflowSpec: StoreReads['workflowSpec'] = (...a) => this.reads.workflowSpec(...a);
  findWorkflowByIdempotencyKey: StoreReads['findWorkflowByIdempotencyKey'] = (...a) =>
    this.reads.findWorkflowByIdempotencyKey(...a);
  listWorkflows: StoreReads['listWorkflows'] = (...a) => this.reads.listWorkflows(...a);
  workflowSteps: StoreReads['workflowSteps'] = (...a) => this.reads.workflowSteps(...a);
  workflowOutcomes: StoreReads['workflowOutcomes'] = (...a) => this.reads.workflowOutcomes(...a);
  mapChildren: StoreReads['mapChildren'] = (...a) => this.reads.mapChildren(...a);
  firstSignal: StoreReads['firstSignal'] = (...a) => this.reads.firstSignal(...a);
  workflowEvents: StoreReads['workflowEvents'] = (...a) => this.reads.workflowEvents(...a);
  getDraft: StoreReads['getDraft'] = (...a) => this.reads.getDraft(...a);
  webhookAttempts: StoreReads['webhookAttempts'] = (...a) => this.reads.webhookAttempts(...a);
  tenantSecret: StoreReads['tenantSecret'] = (...a) => this.reads.tenantSecret(...a);
}
