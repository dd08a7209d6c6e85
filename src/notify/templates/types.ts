/**
 * The shape of a locale's message table: labels, units, action words and one entry per event type. The mapped
 * `events` type makes the compiler refuse a locale that lacks a template for any event type.
 */
import type { ActionKind } from '../../config/schema.js';
import type { EventData, EventType } from '../events.js';
import type { ReasonCode } from '../reasons.js';
import type { Locale } from '../types.js';

/** Action kinds messages name (config actions plus `boot` for wake). */
export type ActionName = ActionKind | 'boot';

/** How a locale says an action: "release the GPU of" / "Released the GPU of" / "GPU will be released". */
export interface ActionWords {
  verb: string;
  past: string;
  future: string;
}

/** Labels of facts and table columns (the same set in every locale). */
export type Label =
  | 'instance'
  | 'gpu'
  | 'price'
  | 'policy'
  | 'reason'
  | 'planned_at'
  | 'saving'
  | 'would_save'
  | 'at'
  | 'error'
  | 'balance'
  | 'threshold'
  | 'runway'
  | 'burn'
  | 'empty_at'
  | 'spent'
  | 'limit'
  | 'since'
  | 'blind_since'
  | 'estimated_spend'
  | 'observed_spend'
  | 'saved'
  | 'recharged'
  | 'actions'
  | 'top_up'
  | 'observed_at'
  | 'estimate_now'
  | 'last_resort_at'
  | 'waited'
  | 'tries'
  | 'web_url'
  | 'gpu_models'
  | 'status'
  | 'last_status'
  | 'last_seen'
  | 'estimated';

/** Locale-aware value formatting handed to templates and fact sheets. */
export interface Fmt {
  locale: Locale;
  /** `¥38.16`, `—` for a missing figure */
  money(v: number | null | undefined): string;
  /** `¥1.59/h`, `¥1.59/小时` */
  rate(v: number | null | undefined): string;
  /** `1.6 h`, `1.6 小时` */
  hours(v: number | null | undefined): string;
  /** `2026-11-26 02:00 (Asia/Shanghai)` */
  time(v: number | null | undefined): string;
  /** `1h 30m`, `1 小时 30 分钟` */
  duration(ms: number): string;
  /** `sd-main (ins-7f3a)` */
  instance(i: { id: string; name: string }): string;
  /** the instance's name, else its id */
  name(i: { id: string; name: string } | undefined): string;
  /** `RTX 4090 D × 1` */
  gpu(model: string | undefined, count: number | undefined): string;
  /** what a data-only boot (`gpu_count: 0`) has instead of a GPU */
  noGpu: string;
  /** an action's words (unknown kinds get generic ones) */
  action(a: string): ActionWords;
  /** the reason in this locale when its code is known, else the English text */
  reason(text: string | undefined, code: ReasonCode | undefined): string;
  /** items joined by the locale's list separator */
  list(items: string[]): string;
  /** a URL without user info, query or fragment (tokens live there) */
  url(u: string): string;
}

/** What a template knows besides the data. */
export interface TextCtx {
  /** the one-click snooze links are in the message */
  hasLinks: boolean;
}

/** The words of one event type in one locale. */
export interface EventText<T extends EventType> {
  title(d: EventData<T>, f: Fmt, c: TextCtx): string;
  summary(d: EventData<T>, f: Fmt, c: TextCtx): string;
  note?(d: EventData<T>, f: Fmt, c: TextCtx): string | undefined;
  /** the notice that clears a firing alert; without it, "Resolved: <title>" */
  resolved?: { title(d: EventData<T>, f: Fmt): string; summary(d: EventData<T>, f: Fmt): string };
}

/** One locale's message table. */
export interface LocaleText {
  /** `lang` of the HTML body */
  lang: string;
  labels: Record<Label, string>;
  units: { hour: string; perHour: string; noGpu: string };
  actions: Record<ActionName, ActionWords>;
  /** words for an action kind this version does not know */
  unknownAction(a: string): ActionWords;
  words: {
    footer: string;
    reminder: string;
    /** subject suffix of a grouped message: `n` more events inside */
    more(n: number): string;
    resolvedPrefix: string;
    snooze: { h1: string; h2: string; skip: string };
    opaqueTitle(type: string): string;
    opaqueSummary: string;
    /** the dashboard's alert for notifications given up on (`n` deliveries to `channel`) */
    deadDeliveries(n: number, channel: string): string;
  };
  events: { [T in EventType]: EventText<T> };
}
