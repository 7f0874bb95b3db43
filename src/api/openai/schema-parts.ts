import { z } from 'zod';

/** Schema pieces several OpenAI operations share. Schemas are built once, at load. */
export const positiveInt = z.number().int().positive();
export const nullable = <T extends z.ZodType>(schema: T) => schema.nullable().optional();

export const tokenArray = z.array(z.number().int().nonnegative());
export const textOrTokens = z.union([z.string(), z.array(z.string()), tokenArray, z.array(tokenArray)]);

export const streamFields = {
  stream: nullable(z.boolean()),
  stream_options: nullable(z.looseObject({ include_usage: z.boolean().optional() })),
};
