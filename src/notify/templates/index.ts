/** The message tables of every locale (the compiler checks each has every event type). */
import type { Locale } from '../types.js';
import { en } from './en.js';
import type { LocaleText } from './types.js';
import { zhCN } from './zh-cn.js';

/** Locale -> message table. */
export const LOCALES: Record<Locale, LocaleText> = { en, 'zh-CN': zhCN };

export type { ActionName, ActionWords, EventText, Fmt, Label, LocaleText, TextCtx } from './types.js';
