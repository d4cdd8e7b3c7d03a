import { Dashboard } from "./_components/dashboard";

export default function AdminDashboardPage() {
  return (
    <>
      <h1 className="mb-4 text-2xl font-semibold">Dashboard</h1>
      <Dashboard />
    </>
  );
}
