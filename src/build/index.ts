// Dockerfile parser and the classic builder (POST /build), and commits of containers (POST /commit).
export { parseDockerfile, parseInstruction, nameValues, rawWords, jsonForm, INSTRUCTIONS, type Dockerfile, type Instruction } from './parser.js';
export { expandWord, expandWords, type Env } from './lex.js';
export { commitContainer, commitImage, imageConfigOf, type CommitOptions, type LayerCommit } from './commit.js';
export { Build, StepError, parseDuration, type BuildDeps, type BuildOptions, type BuildMessage } from './builder.js';
export { copyInto, matchSources } from './copy.js';
export { BuildCache, cacheKey, contentDigest } from './cache.js';
