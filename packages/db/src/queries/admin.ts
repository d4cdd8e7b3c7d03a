// Admin and analyst reads: user lists, moderation lists, the prompt pool, and the dashboard's aggregates.
import { and, desc, eq, ilike, or, sql } from "drizzle-orm";

import type { DbOrTx } from "../client.ts";
import type { PromptSource, UserRole } from "../enums.ts";
import { withDbErrors } from "../errors.ts";
import { beforeCursor, nextCursor } from "./util.ts";
import { user } from "../schema/auth.ts";
import { image } from "../schema/image.ts";
import { prompt } from "../schema/prompt.ts";

export type UserListItem = {
  id: string;
  email: string;
  name: string | null;
  role: UserRole;
  trainingConsent: boolean;
  excludedFromTraining: boolean;
  blockedAt: Date | null;
  createdAt: Date;
  voteCount: number;
};

/** Users, newest first, optionally filtered by an email/name substring; keyset by (createdAt, id). */
export async function listUsers(
  db: DbOrTx,
  input: { search?: string; limit: number; before?: { createdAt: Date; id: string } | null },
): Promise<{ users: UserListItem[]; next: { createdAt: Date; id: string } | null }> {
  return withDbErrors(async () => {
    const pattern = input.search ? `%${input.search.replace(/[\\%_]/g, (c) => `\\${c}`)}%` : undefined;
    const before = input.before;
    const users = await db
      .select({
        id: user.id,
        email: user.email,
        name: user.name,
        role: user.role,
        trainingConsent: user.trainingConsent,
        excludedFromTraining: user.excludedFromTraining,
        blockedAt: user.blockedAt,
        createdAt: user.createdAt,
        voteCount: sql<number>`(select count(*)::int from vote v where v.user_id = ${user.id})`,
      })
      .from(user)
      .where(
        and(
          pattern ? or(ilike(user.email, pattern), ilike(user.name, pattern)) : undefined,
          beforeCursor(user.createdAt, user.id, before),
        ),
      )
      .orderBy(desc(user.createdAt), desc(user.id))
      .limit(input.limit);
    return { users, next: nextCursor(users, input.limit) };
  });
}

export type ModerationImage = {
  id: string;
  blobKey: string;
  width: number;
  height: number;
  promptText: string;
  modelVersionId: string;
  isHidden: boolean;
  createdAt: Date;
  likes: number;
  dislikes: number;
};

/** Images for moderation, newest first, with their current like/dislike counts; keyset by (createdAt, id). */
export async function listImagesForModeration(
  db: DbOrTx,
  input: { limit: number; hiddenOnly?: boolean; before?: { createdAt: Date; id: string } | null },
): Promise<{ images: ModerationImage[]; next: { createdAt: Date; id: string } | null }> {
  return withDbErrors(async () => {
    const before = input.before;
    const images = await db
      .select({
        id: image.id,
        blobKey: image.blobKey,
        width: image.width,
        height: image.height,
        promptText: prompt.text,
        modelVersionId: image.modelVersionId,
        isHidden: image.isHidden,
        createdAt: image.createdAt,
        likes: sql<number>`(select count(*)::int from vote v where v.image_id = ${image.id} and v.value = 'like')`,
        dislikes: sql<number>`(select count(*)::int from vote v where v.image_id = ${image.id} and v.value = 'dislike')`,
      })
      .from(image)
      .innerJoin(prompt, eq(prompt.id, image.promptId))
      .where(
        and(
          input.hiddenOnly ? eq(image.isHidden, true) : undefined,
          beforeCursor(image.createdAt, image.id, before),
        ),
      )
      .orderBy(desc(image.createdAt), desc(image.id))
      .limit(input.limit);
    return { images, next: nextCursor(images, input.limit) };
  });
}

export type PromptListItem = {
  id: string;
  text: string;
  source: PromptSource;
  isActive: boolean;
  submittedBy: string | null;
  submittedByEmail: string | null;
  createdAt: Date;
  imageCount: number;
};

/** The prompt pool (active and inactive), newest first, optionally by source; keyset by (createdAt, id). */
export async function listPrompts(
  db: DbOrTx,
  input: { limit: number; source?: PromptSource; before?: { createdAt: Date; id: string } | null },
): Promise<{ prompts: PromptListItem[]; next: { createdAt: Date; id: string } | null }> {
  return withDbErrors(async () => {
    const before = input.before;
    const prompts = await db
      .select({
        id: prompt.id,
        text: prompt.text,
        source: prompt.source,
        isActive: prompt.isActive,
        submittedBy: prompt.submittedBy,
        submittedByEmail: user.email,
        createdAt: prompt.createdAt,
        imageCount: sql<number>`(select count(*)::int from image i where i.prompt_id = ${prompt.id})`,
      })
      .from(prompt)
      .leftJoin(user, eq(user.id, prompt.submittedBy))
      .where(
        and(
          input.source ? eq(prompt.source, input.source) : undefined,
          beforeCursor(prompt.createdAt, prompt.id, before),
        ),
      )
      .orderBy(desc(prompt.createdAt), desc(prompt.id))
      .limit(input.limit);
    return { prompts, next: nextCursor(prompts, input.limit) };
  });
}

/** A user's own submitted prompts, newest first, with how many images each has. */
export async function listUserPrompts(
  db: DbOrTx,
  input: { userId: string; limit: number },
): Promise<{ id: string; text: string; isActive: boolean; createdAt: Date; imageCount: number }[]> {
  return withDbErrors(() =>
    db
      .select({
        id: prompt.id,
        text: prompt.text,
        isActive: prompt.isActive,
        createdAt: prompt.createdAt,
        imageCount: sql<number>`(select count(*)::int from image i where i.prompt_id = ${prompt.id})`,
      })
      .from(prompt)
      .where(and(eq(prompt.submittedBy, input.userId), eq(prompt.source, "user")))
      .orderBy(desc(prompt.createdAt), desc(prompt.id))
      .limit(input.limit),
  );
}

/** Visible images generated for one prompt, newest first. */
export async function listPromptImages(
  db: DbOrTx,
  input: { promptId: string; limit: number },
): Promise<
  { id: string; blobKey: string; width: number; height: number; modelVersionId: string; createdAt: Date }[]
> {
  return withDbErrors(() =>
    db
      .select({
        id: image.id,
        blobKey: image.blobKey,
        width: image.width,
        height: image.height,
        modelVersionId: image.modelVersionId,
        createdAt: image.createdAt,
      })
      .from(image)
      .where(and(eq(image.promptId, input.promptId), eq(image.isHidden, false)))
      .orderBy(desc(image.createdAt), desc(image.id))
      .limit(input.limit),
  );
}

export type HourlyVotes = { hour: Date; likes: number; dislikes: number; cleared: number };

/** Feedback events per hour over the last `hours` hours (every hour present, zeros included), oldest first. */
export async function listVotesPerHour(db: DbOrTx, input: { hours: number }): Promise<HourlyVotes[]> {
  return withDbErrors(async () => {
    const rows = await db.execute<{ hour: string; likes: number; dislikes: number; cleared: number }>(sql`
      with hours as (
        select generate_series(date_trunc('hour', now()) - make_interval(hours => ${input.hours - 1}),
                               date_trunc('hour', now()), interval '1 hour') as hour)
      select h.hour,
             count(e.id) filter (where e.new_value = 'like')::int as likes,
             count(e.id) filter (where e.new_value = 'dislike')::int as dislikes,
             count(e.id) filter (where e.new_value = 'cleared')::int as cleared
      from hours h
      left join feedback_event e on e.at >= h.hour and e.at < h.hour + interval '1 hour'
      group by h.hour order by h.hour`);
    return rows.map((r) => ({
      hour: new Date(r.hour),
      likes: r.likes,
      dislikes: r.dislikes,
      cleared: r.cleared,
    }));
  });
}

export type LikeRatePoint = {
  day: Date;
  modelVersionId: string;
  likes: number;
  votes: number;
  likeRate: number;
};

/** Like rate of votes cast (feedback events like/dislike) per model version per day, over the last `days` days. */
export async function listLikeRateByModelVersion(
  db: DbOrTx,
  input: { days: number },
): Promise<LikeRatePoint[]> {
  return withDbErrors(async () => {
    const rows = await db.execute<{
      day: string;
      model_version_id: string;
      likes: number;
      votes: number;
    }>(sql`
      select date_trunc('day', e.at) as day, i.model_version_id,
             count(*) filter (where e.new_value = 'like')::int as likes,
             count(*)::int as votes
      from feedback_event e join image i on i.id = e.image_id
      where e.new_value <> 'cleared' and e.at >= date_trunc('day', now()) - make_interval(days => ${input.days - 1})
      group by 1, 2 order by 1, 2`);
    return rows.map((r) => ({
      day: new Date(r.day),
      modelVersionId: r.model_version_id,
      likes: r.likes,
      votes: r.votes,
      likeRate: r.votes > 0 ? r.likes / r.votes : 0,
    }));
  });
}

export type ActiveModel = {
  modelVersionId: string;
  family: string;
  status: string;
  role: "production" | "experiment";
  experimentName: string | null;
  variantName: string | null;
  imageCount: number;
};

/** Versions being served: the production alias and every variant of a running experiment. */
export async function listActiveModels(db: DbOrTx): Promise<ActiveModel[]> {
  return withDbErrors(async () => {
    const rows = await db.execute<{
      model_version_id: string;
      family: string;
      status: string;
      role: "production" | "experiment";
      experiment_name: string | null;
      variant_name: string | null;
      image_count: number;
    }>(sql`
      select mv.id as model_version_id, mv.family, mv.status::text as status, 'production' as role,
             null as experiment_name, null as variant_name,
             (select count(*)::int from image i where i.model_version_id = mv.id and not i.is_hidden) as image_count
      from model_alias a join model_version mv on mv.id = a.model_version_id where a.name = 'production'
      union all
      select mv.id, mv.family, mv.status::text, 'experiment', e.name, v.name,
             (select count(*)::int from image i where i.model_version_id = mv.id and not i.is_hidden)
      from experiment e join variant v on v.experiment_id = e.id join model_version mv on mv.id = v.model_version_id
      where e.status = 'running'`);
    return rows.map((r) => ({
      modelVersionId: r.model_version_id,
      family: r.family,
      status: r.status,
      role: r.role,
      experimentName: r.experiment_name,
      variantName: r.variant_name,
      imageCount: r.image_count,
    }));
  });
}
