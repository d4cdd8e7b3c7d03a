import { SignUpForm } from "./sign-up-form";

export default function SignUpPage() {
  return (
    <div className="mx-auto max-w-md">
      <h1 className="mb-4 text-2xl font-semibold">Create an account</h1>
      <SignUpForm />
    </div>
  );
}
