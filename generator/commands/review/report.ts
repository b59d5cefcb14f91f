// The review's result: per environment and Application, the objects added, removed and changed.
import type { JsonObject } from '../../verify/openapi-schema.ts';
import type { FieldChange } from './field-diff.ts';
import type { ObjectId } from './objects.ts';

export interface ObjectEntry extends ObjectId {
  apiVersion: string;
  source: string;
  object: JsonObject;
}

export interface ObjectChange extends ObjectId {
  apiVersion: string;
  source: string;
  fields: FieldChange[];
  /** For an AppProject: what it now permits that it did not. */
  widened?: string[];
}

export interface ApplicationReview {
  name: string;
  added: ObjectEntry[];
  removed: ObjectEntry[];
  changed: ObjectChange[];
}

export interface EnvironmentReview {
  name: string;
  applications: ApplicationReview[];
  /** Applications whose rendered objects are identical at both revisions. */
  unchangedApplications: number;
}

export type AttentionReason = 'deleted' | 'gpu' | 'image' | 'project' | 'route' | 'api';

export interface Attention {
  reason: AttentionReason;
  environment: string;
  application: string;
  object: ObjectId;
  message: string;
}

export interface RoutingFigures {
  ttftP90Ms: number;
  outputTokensPerSecond: number;
  prefixHitRate: number;
}

export interface RoutingImpact {
  environment: string;
  model: string;
  workload: string;
  reasons: string[];
  before: RoutingFigures | null;
  after: RoutingFigures | null;
}

export interface ReviewReport {
  base: string;
  head: string;
  summary: {
    environments: number;
    applications: number;
    unchangedApplications: number;
    added: number;
    removed: number;
    changed: number;
  };
  environments: EnvironmentReview[];
  attention: Attention[];
  routing: RoutingImpact[];
  problems: string[];
}
