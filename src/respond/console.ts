/** The CloudTrail console's page of one event (event history, that event id and region). */
export function consoleEventUrl(eventId: string, region: string): string {
  const r = encodeURIComponent(region);
  return `https://${r}.console.aws.amazon.com/cloudtrailv2/home?region=${r}#/events/${encodeURIComponent(eventId)}`;
}
