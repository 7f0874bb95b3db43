import { useForm, type DefaultValues, type FieldValues } from 'react-hook-form';

/**
 * The portal's forms (react-hook-form): checked when sent, and checked again only when sent again,
 * so a problem announced (role="alert") is not re-announced at each key typed. The first field
 * with a problem takes the focus. The rules stay plain functions (checkExpiry, checkUseCase, checkTerm
 * in src/api, ...): the fields' `validate` calls them through `problemOf`.
 */
export function useCheckedForm<Values extends FieldValues>(defaultValues: DefaultValues<Values>) {
  return useForm<Values>({ defaultValues, mode: 'onSubmit', reValidateMode: 'onSubmit' });
}

/** A check's answer as react-hook-form's `validate` wants it: the problem's text, or true when there is none. */
export function problemOf(checked: { problem: string } | object | string | null): string | true {
  if (checked === null) return true;
  if (typeof checked === 'string') return checked;
  return 'problem' in checked && typeof checked.problem === 'string' ? checked.problem : true;
}

/** A field's aria wiring: invalid and described by its problem while it has one, else by its help (if any). */
export function fieldAria(problem: string | undefined, problemId: string, helpId?: string) {
  return { 'aria-invalid': problem ? true : undefined, 'aria-describedby': problem ? problemId : helpId } as const;
}

/** A field's problem, announced, with the id its field's aria-describedby names. */
export function FieldProblem({ id, problem }: { id?: string; problem: string | undefined }) {
  return problem ? (
    <p id={id} className="field-problem" role="alert">
      {problem}
    </p>
  ) : null;
}
