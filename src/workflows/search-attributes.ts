// Fledge's custom search attributes (registered by the local stack and by `docs/operations.md` for real servers).
// Names are wire contracts: never rename.
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const fledgeTarget = defineSearchAttributeKey('FledgeTarget', SearchAttributeType.KEYWORD);
export const fledgeNamespace = defineSearchAttributeKey('FledgeNamespace', SearchAttributeType.KEYWORD);
export const fledgeImageTag = defineSearchAttributeKey('FledgeImageTag', SearchAttributeType.KEYWORD);
export const fledgePhase = defineSearchAttributeKey('FledgePhase', SearchAttributeType.KEYWORD);
export const fledgeWeight = defineSearchAttributeKey('FledgeWeight', SearchAttributeType.INT);
export const fledgeOutcome = defineSearchAttributeKey('FledgeOutcome', SearchAttributeType.KEYWORD);
export const fledgeInitiator = defineSearchAttributeKey('FledgeInitiator', SearchAttributeType.KEYWORD);

export const fledgeSearchAttributes = [
  fledgeTarget,
  fledgeNamespace,
  fledgeImageTag,
  fledgePhase,
  fledgeWeight,
  fledgeOutcome,
  fledgeInitiator,
] as const;
