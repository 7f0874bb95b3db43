import { useQuery } from '@tanstack/react-query';
import { useEffect, useId, useRef, useState, type FormEvent, type KeyboardEvent } from 'react';
import { useWatch, type UseFormRegisterReturn } from 'react-hook-form';
import type { Listing, Project } from '../api/admin-types.js';
import { errorOf } from '../api/api-client.js';
import { chatMessages, chatRequest, streamChat, WAITING, type Answer, type ChatMessage, type ChatSettings } from '../api/chat-stream.js';
import { azureSnippet, openAISnippet } from '../api/code-snippet.js';
import { count } from '../api/format.js';
import { may, mayAnywhere, type Identity } from '../api/identity.js';
import { useIdentity, usePortal } from '../app/portal-context.js';
import { CopyButton } from '../components/copy-button.js';
import { FilterAnnotations } from '../components/filter-annotations.js';
import { FieldProblem, fieldAria, problemOf, useCheckedForm } from '../components/form-fields.js';
import { Empty, ErrorNotice, Loading } from '../components/status.js';
import './playground-page.css';

interface Turn {
  readonly id: number;
  readonly prompt: string;
  readonly answer: Answer;
}

/** What the conversation sends again: the turns that were answered (a stopped answer with what had arrived). */
function conversationOf(turns: readonly Turn[]): ChatMessage[] {
  return turns
    .filter((turn) => turn.answer.error === null && (turn.answer.state === 'done' || turn.answer.state === 'stopped') && turn.answer.content !== '')
    .flatMap((turn): ChatMessage[] => [
      { role: 'user', content: turn.prompt },
      { role: 'assistant', content: turn.answer.content },
    ]);
}

/** A parameter as typed: empty is the deployment's default; otherwise a number in range, or the problem. */
function parameter(input: string, { min, max, integer }: { min: number; max: number; integer: boolean }): { value: number | null } | { problem: string } {
  const text = input.trim();
  if (text === '') return { value: null };
  const value = Number(text);
  if (!Number.isFinite(value) || (integer && !Number.isInteger(value))) return { problem: integer ? 'A whole number, please.' : 'A number, please.' };
  if (value < min || value > max) return { problem: `Between ${min} and ${max}, please.` };
  return { value };
}

const TEMPERATURE = { min: 0, max: 2, integer: false };
const MAX_TOKENS = { min: 1, max: 1_000_000, integer: true };

/** The playground's fields as typed. */
interface ChatFields {
  system: string;
  temperature: string;
  maxTokens: string;
  prompt: string;
}

/** The request's settings from the fields (a parameter not yet valid counts as the deployment's default). */
function settingsOf(deployment: string, { system, temperature, maxTokens }: Omit<ChatFields, 'prompt'>): ChatSettings {
  const temperatureValue = parameter(temperature, TEMPERATURE);
  const maxTokensValue = parameter(maxTokens, MAX_TOKENS);
  return {
    deployment,
    system,
    temperature: 'value' in temperatureValue ? temperatureValue.value : null,
    maxTokens: 'value' in maxTokensValue ? maxTokensValue.value : null,
  };
}

/** Projects a token caller may call models for (keys carry their project; the master key needs none). */
function useInferenceProjects(identity: Identity) {
  const { client } = usePortal();
  const needed = identity.kind === 'user';
  return useQuery({
    queryKey: ['projects'],
    queryFn: () => client.admin<Listing<Project>>('GET', '/projects'),
    enabled: needed && mayAnywhere(identity, 'projects:read'),
    select: (listing) => listing.data.filter((project) => may(identity, 'inference', { organization: project.organizationId, project: project.id })),
  });
}

/** Chat with a deployment the caller may use: streamed, stoppable, with usage, latency, the content filter's verdicts, and the code for it. */
export function PlaygroundPage() {
  const { client } = usePortal();
  const identity = useIdentity();
  const projects = useInferenceProjects(identity);
  const [project, setProject] = useState<string | null>(null);
  const chosenProject = identity.kind === 'user' ? (project ?? projects.data?.[0]?.id ?? null) : null;
  const headers: Record<string, string> = chosenProject ? { 'x-cerulean-project': chosenProject } : {};
  const models = useQuery({
    queryKey: ['models', chosenProject],
    enabled: identity.kind !== 'user' || chosenProject !== null,
    queryFn: async () => {
      const response = await client.send('GET', '/v1/models', { headers });
      if (!response.ok) throw await errorOf(response);
      return ((await response.json()) as { data: Array<{ id: string }> }).data.map((model) => model.id);
    },
  });
  const [deployment, setDeployment] = useState<string | null>(null);
  const chosenDeployment = deployment !== null && models.data?.includes(deployment) ? deployment : (models.data?.[0] ?? null);

  return (
    <section className="playground">
      <h1>Playground</h1>
      {identity.kind === 'user' ? (
        projects.isPending && projects.fetchStatus !== 'idle' ? (
          <Loading what="your projects" />
        ) : projects.isError ? (
          <ErrorNotice error={projects.error} />
        ) : !projects.data || projects.data.length === 0 ? (
          <Empty>None of your roles lets you call models in a project.</Empty>
        ) : (
          <div className="field inline">
            <label htmlFor="playground-project">Project</label>
            <select id="playground-project" value={chosenProject ?? ''} onChange={(event) => setProject(event.target.value)}>
              {projects.data.map((candidate) => (
                <option key={candidate.id} value={candidate.id}>
                  {candidate.name} ({candidate.id})
                </option>
              ))}
            </select>
          </div>
        )
      ) : null}
      {identity.kind === 'user' && chosenProject === null ? null : models.isPending ? (
        <Loading what="the deployments you may use" />
      ) : models.isError ? (
        <ErrorNotice error={models.error} title="The deployments you may use could not be listed" />
      ) : models.data.length === 0 ? (
        <Empty>There is no deployment you may call{chosenProject ? ` for ${chosenProject}` : ''}.</Empty>
      ) : (
        <Chat
          key={chosenProject ?? ''}
          deployments={models.data}
          deployment={chosenDeployment ?? models.data[0]}
          onDeployment={setDeployment}
          project={chosenProject}
          headers={headers}
        />
      )}
    </section>
  );
}

function Chat({
  deployments,
  deployment,
  onDeployment,
  project,
  headers,
}: {
  deployments: readonly string[];
  deployment: string;
  onDeployment: (deployment: string) => void;
  project: string | null;
  headers: Readonly<Record<string, string>>;
}) {
  const { client } = usePortal();
  const {
    register,
    control,
    handleSubmit,
    setValue,
    formState: { errors },
  } = useCheckedForm<ChatFields>({ system: 'You are a helpful assistant.', temperature: '', maxTokens: '', prompt: '' });
  // Read as typed, for the code view.
  const [system, temperature, maxTokens, prompt] = useWatch({ control, name: ['system', 'temperature', 'maxTokens', 'prompt'] });
  const [turns, setTurns] = useState<readonly Turn[]>([]);
  const [showCode, setShowCode] = useState(false);
  const running = useRef<AbortController | null>(null);
  const nextId = useRef(1);
  const streaming = turns.some((turn) => turn.answer.state === 'waiting' || turn.answer.state === 'streaming');
  // Leaving the page stops the answer being streamed.
  useEffect(() => () => running.current?.abort(), []);

  const draft: ChatMessage[] = prompt.trim() === '' ? [] : [{ role: 'user', content: prompt }];
  const codeBody = chatRequest(settingsOf(deployment, { system, temperature, maxTokens }), chatMessages(system, [...conversationOf(turns), ...draft]));

  const start = (fields: ChatFields) => {
    const id = nextId.current++;
    const body = chatRequest(settingsOf(deployment, fields), chatMessages(fields.system, [...conversationOf(turns), { role: 'user', content: fields.prompt }]));
    setTurns([...turns, { id, prompt: fields.prompt, answer: WAITING }]);
    setValue('prompt', '');
    const controller = new AbortController();
    running.current = controller;
    const show = (answer: Answer) => setTurns((current) => current.map((turn) => (turn.id === id ? { ...turn, answer } : turn)));
    void streamChat({ client, body, headers, signal: controller.signal, onUpdate: show }).then(() => {
      if (running.current === controller) running.current = null;
    });
  };
  const send = (event?: FormEvent) => {
    event?.preventDefault();
    if (streaming) return;
    void handleSubmit(start)();
  };
  const sendOnCtrlEnter = (event: KeyboardEvent<HTMLTextAreaElement>) => {
    if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) send();
  };

  return (
    <div className="playground-layout">
      <form className="panel playground-settings" aria-label="Settings" onSubmit={(event) => event.preventDefault()} noValidate>
        <div className="field">
          <label htmlFor="playground-deployment">Deployment</label>
          <select id="playground-deployment" value={deployment} onChange={(event) => onDeployment(event.target.value)} disabled={streaming}>
            {deployments.map((name) => (
              <option key={name} value={name}>
                {name}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="playground-system">System prompt</label>
          <textarea id="playground-system" rows={4} {...register('system')} />
        </div>
        <NumberField
          id="playground-temperature"
          label="Temperature"
          placeholder="default (0–2)"
          problem={errors.temperature?.message}
          field={register('temperature', { validate: (value) => problemOf(parameter(value, TEMPERATURE)) })}
        />
        <NumberField
          id="playground-max-tokens"
          label="Max tokens"
          placeholder="default"
          problem={errors.maxTokens?.message}
          field={register('maxTokens', { validate: (value) => problemOf(parameter(value, MAX_TOKENS)) })}
        />
        <div className="actions">
          <button type="button" onClick={() => setShowCode(!showCode)} aria-expanded={showCode} aria-controls="playground-code">
            {showCode ? 'Hide code' : 'View code'}
          </button>
          <button type="button" onClick={() => setTurns([])} disabled={streaming || turns.length === 0}>
            Clear conversation
          </button>
        </div>
      </form>
      <div className="playground-chat">
        {showCode ? <CodeView body={codeBody} project={project} /> : null}
        {turns.length === 0 ? (
          <Empty>Nothing sent yet: write a message below. Ctrl+Enter sends it.</Empty>
        ) : (
          <ol className="conversation" role="log" aria-label="Conversation">
            {turns.map((turn) => (
              <TurnView key={turn.id} turn={turn} />
            ))}
          </ol>
        )}
        <form className="playground-prompt" onSubmit={send} noValidate>
          <label htmlFor="playground-prompt">Message</label>
          <textarea
            id="playground-prompt"
            rows={3}
            onKeyDown={sendOnCtrlEnter}
            {...fieldAria(errors.prompt?.message, 'playground-prompt-problem')}
            {...register('prompt', { validate: (value) => value.trim() !== '' || 'Write a message to send.' })}
          />
          <FieldProblem id="playground-prompt-problem" problem={errors.prompt?.message} />
          <div className="actions">
            {streaming ? (
              <button type="button" className="danger" onClick={() => running.current?.abort()}>
                Stop
              </button>
            ) : (
              <button type="submit" className="primary">
                Send
              </button>
            )}
          </div>
        </form>
      </div>
    </div>
  );
}

function NumberField(props: { id: string; label: string; placeholder: string; problem: string | undefined; field: UseFormRegisterReturn }) {
  return (
    <div className="field">
      <label htmlFor={props.id}>{props.label}</label>
      <input id={props.id} inputMode="decimal" placeholder={props.placeholder} {...fieldAria(props.problem, `${props.id}-problem`)} {...props.field} />
      <FieldProblem id={`${props.id}-problem`} problem={props.problem} />
    </div>
  );
}

const FINISH: Readonly<Record<string, string>> = {
  stop: 'finished',
  length: 'cut off at the token limit',
  content_filter: 'stopped by the content filter',
  tool_calls: 'asked for a tool',
};

function TurnView({ turn }: { turn: Turn }) {
  const { answer } = turn;
  const error = answer.error;
  return (
    <li className="turn">
      <div className="message user">
        <span className="role">You</span>
        <p className="text">{turn.prompt}</p>
      </div>
      <FilterAnnotations title="Prompt filter" results={answer.promptFilter} />
      <div className={`message assistant answer-${answer.state}`} aria-busy={answer.state === 'waiting' || answer.state === 'streaming'}>
        <span className="role">{answer.model ?? 'Assistant'}</span>
        {answer.state === 'waiting' ? (
          <p className="status" role="status">
            <span className="spinner" aria-hidden="true" /> Waiting for the first token…
          </p>
        ) : null}
        {answer.content ? <p className="text">{answer.content}</p> : null}
        {answer.modelRefusal ? <p className="text model-refusal">The model refused: {answer.modelRefusal}</p> : null}
        {error ? (
          <div className="notice error refusal" role="alert">
            <strong>{error.status === 0 ? 'Not answered' : `Refused (HTTP ${error.status})`}: </strong>
            {error.message}
            {error.code ? <span className="code"> ({error.code})</span> : null}
            {error.filter ? <FilterAnnotations title="The content filter's verdict" results={error.filter} /> : null}
          </div>
        ) : null}
        <AnswerFacts answer={answer} />
      </div>
      <FilterAnnotations title="Answer filter" results={answer.completionFilter} />
    </li>
  );
}

/** Tokens, latency and how the answer ended. */
function AnswerFacts({ answer }: { answer: Answer }) {
  if (answer.state === 'waiting') return null;
  const facts: string[] = [];
  if (answer.state === 'stopped') facts.push('stopped by you');
  else if (answer.finishReason) facts.push(FINISH[answer.finishReason] ?? answer.finishReason);
  if (answer.usage) {
    const cached = answer.usage.prompt_tokens_details?.cached_tokens ?? 0;
    facts.push(
      `${count(answer.usage.prompt_tokens)} prompt${cached > 0 ? ` (${count(cached)} cached)` : ''} + ${count(answer.usage.completion_tokens)} completion = ${count(answer.usage.total_tokens)} tokens`,
    );
  } else if (answer.state === 'done' && !answer.error) {
    facts.push('no usage reported');
  }
  if (answer.firstTokenMs !== null) facts.push(`first token ${count(answer.firstTokenMs)} ms`);
  if (answer.totalMs !== null) facts.push(`total ${count(answer.totalMs)} ms`);
  if (answer.state !== 'streaming' && answer.promptFilter === null && answer.completionFilter === null && !answer.error)
    facts.push('no content-filter annotations in this stream');
  return <p className="answer-facts">{facts.join(' · ')}</p>;
}

/** The request as a program, for the OpenAI client or the AzureOpenAI client; the key read from the environment. */
function CodeView({ body, project }: { body: Record<string, unknown>; project: string | null }) {
  const [flavour, setFlavour] = useState<'openai' | 'azure'>('openai');
  const id = useId();
  const input = { origin: window.location.origin, body, project };
  const code = flavour === 'openai' ? openAISnippet(input) : azureSnippet(input);
  return (
    <div className="panel code-view" id="playground-code" role="region" aria-label="Code">
      <div className="code-tabs" role="radiogroup" aria-label="Client">
        {(
          [
            ['openai', 'OpenAI client'],
            ['azure', 'AzureOpenAI client'],
          ] as const
        ).map(([value, label]) => (
          <label key={value} className="choice">
            <input type="radio" name={`${id}-flavour`} value={value} checked={flavour === value} onChange={() => setFlavour(value)} /> {label}
          </label>
        ))}
      </div>
      <p className="help">
        JavaScript with the <code>openai</code> package; set <code>CERULEAN_API_KEY</code> to your key.
      </p>
      <pre>
        <code aria-label={`Code for the ${flavour === 'openai' ? 'OpenAI' : 'AzureOpenAI'} client`}>{code}</code>
      </pre>
      <CopyButton text={code} label="Copy code" />
    </div>
  );
}
