import type { ReviewReport, RoutingImpact } from './report.ts';

export function routingImpacts(baseRoot: string, headRoot: string, report: ReviewReport): RoutingImpact[] {
  void baseRoot;
  void headRoot;
  void report;
  return [];
}
