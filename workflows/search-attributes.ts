import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

// Incidents are listed by these in the Temporal UI and `client.workflow.list`, without a second database.
export const INCIDENT_PACKAGE = defineSearchAttributeKey('QuarantinePackage', SearchAttributeType.KEYWORD);
export const INCIDENT_STATUS = defineSearchAttributeKey('QuarantineStatus', SearchAttributeType.KEYWORD);

export const SEARCH_ATTRIBUTES = [INCIDENT_PACKAGE, INCIDENT_STATUS] as const;
